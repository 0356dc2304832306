"""Allure results carry each check's metadata, grouped level → area → check.

Checked on the allure-results JSON (what the Allure CLI reads), not on a rendered page.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.controls.runner import run_suite


def test_allure_results_carry_the_checks_metadata(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-services=sklearn-iris", "-k", "test_predict_tutorial or test_model_ready")
    assert run.returncode == 0, run.output[-3000:]
    results = [json.loads(p.read_text()) for p in (run.report_dir / "allure-results").glob("*-result.json")]
    by_name = {r["name"]: r for r in results}
    tutorial = by_name.get("PredictTutorial [sklearn-iris]")
    assert tutorial is not None, sorted(by_name)
    labels = {(label["name"], label["value"]) for label in tutorial["labels"]}
    assert {
        ("parentSuite", "core"),
        ("suite", "V1 protocol"),
        ("level", "core"),
        ("area", "V1 protocol"),
        ("story", "PredictTutorial"),
        ("service", "sklearn-iris"),
    } <= labels, labels
    assert ("parentSuite", "conformance") not in labels, "allure-pytest's module grouping must not remain"
    assert tutorial["description"]
    assert "test_predict_tutorial" not in tutorial["description"]
    shown = {p["name"]: p["value"] for p in tutorial["parameters"]}
    assert shown.get("kserve_service_entry", "").strip("'") == "sklearn-iris", shown  # the id, not the entry's repr
