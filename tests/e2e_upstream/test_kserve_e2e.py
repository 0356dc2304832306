"""KServe's own e2e tests for the sklearn predictor, unmodified, against the local target.

The local target claims to behave like a KServe cluster to clients nobody here wrote. KServe's
own ``test/e2e/predictor/test_sklearn.py`` is the sharpest such client: it creates
InferenceServices with the SDK's ``KServeClient``, waits for Ready, and predicts through the
ingress (V1, V2 JSON, V2 binary, V2 with the pandas content type, gRPC). Every test that needs only
what a KServe install provides must pass; every other one is an exception in
``expectations.yaml`` naming the capability the target lacks, and fails the self-test if it starts
passing (the list cannot go stale). The upstream run happens once per session; the table of
outcomes and seconds is printed and attached to the JUnit report. The generative run and the
broken-target control are in files of their own, so that CI's parallel pass spreads the three.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_conformance.providers.local import LocalOptions
from tests.e2e_upstream import upstream
from tests.e2e_upstream.local_run import E2E_DIR, EXPECTED, GENERATIVE, LLMISVC, run_upstream


@pytest.fixture(scope="module")
def upstream_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, upstream.Outcome]:
    work = tmp_path_factory.mktemp("kserve-e2e")
    results = run_upstream(work, LocalOptions(), len(EXPECTED.must_pass) + len(EXPECTED.exceptions))
    print(
        f"\nKServe's own e2e tests on the local target (log: {work / 'upstream.log'}):\n"
        + upstream.table(results, EXPECTED)
    )
    return results


def test_upstream_sklearn_e2e(
    upstream_results: dict[str, upstream.Outcome], record_testsuite_property: pytest.RecordProperty
) -> None:
    """Each must-pass test passes, each exception fails, and every upstream test is classified."""
    for name, got in sorted(upstream_results.items()):
        record_testsuite_property(f"kserve-e2e:{name}", f"{got.outcome} {got.seconds:.1f}s")
    found = upstream.problems(upstream_results, EXPECTED)
    assert not found, "KServe's e2e tests disagree with tests/e2e_upstream/expectations.yaml:\n" + "\n".join(found)


# Negative controls for the verdict: synthetic runs that must be reported.


def _run(**outcomes: str) -> dict[str, upstream.Outcome]:
    return {n: upstream.Outcome(n, o, 1.0, "boom" if o != "passed" else "") for n, o in outcomes.items()}


CONTROL = upstream.Expectations(("test_a",), {"test_b": "needs gRPC through the gateway"})


def test_verdict_accepts_a_run_that_agrees() -> None:
    assert upstream.problems(_run(test_a="passed", test_b="failed"), CONTROL) == []


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (dict(test_a="failed", test_b="failed"), "test_a must pass but failed after 1.0s: boom"),
        (dict(test_a="passed", test_b="passed"), "test_b passed although listed as an exception"),
        (dict(test_a="passed", test_b="failed", test_c="passed"), "test_c (passed) is not classified"),
        (dict(test_a="passed"), "test_b is listed but upstream has no such test"),
        (dict(test_a="skipped", test_b="failed"), "test_a must pass but skipped"),
    ],
)
def test_verdict_reports_disagreement(run: dict[str, str], expected: str) -> None:
    found = upstream.problems(_run(**run), CONTROL)
    assert any(line.startswith(expected) for line in found), found


PINNED = upstream.Expectations((), {"test_b": "Qwen's answer"}, {"test_b": "expected '4'"}, {"test_c": "no stand-in"})


def test_verdict_pins_an_exception_to_its_assertion() -> None:
    ok = {"test_b": upstream.Outcome("test_b", "failed", 1.0, "AssertionError: expected '4', got 'x'")}
    assert upstream.problems(ok, PINNED) == []
    early = {"test_b": upstream.Outcome("test_b", "failed", 1.0, "Failed: Timeout (>300.0s) from pytest-timeout.")}
    assert upstream.problems(early, PINNED) == [
        "test_b must fail only at \"expected '4'\", but it failed after 1.0s: "
        "Failed: Timeout (>300.0s) from pytest-timeout."
    ]
    errored = {"test_b": upstream.Outcome("test_b", "error", 1.0, "expected '4'")}
    assert upstream.problems(errored, PINNED)[0].startswith("test_b must fail only at")


def test_verdict_reports_a_not_run_test_that_ran() -> None:
    ran = {
        "test_b": upstream.Outcome("test_b", "failed", 1.0, "expected '4'"),
        "test_c": upstream.Outcome("test_c", "passed", 1.0),
    }
    assert "test_c is listed as not run, but it ran (passed)" in upstream.problems(ran, PINNED)
    assert PINNED.select() == "test_b"


def test_generative_expectations_name_upstream_tests() -> None:
    assert upstream.missing_upstream(E2E_DIR, GENERATIVE) == []
    bogus = upstream.Expectations((), {}, {}, {"test_no_such_thing": "x"}, GENERATIVE.files)
    assert upstream.missing_upstream(E2E_DIR, bogus) == ["test_no_such_thing is listed but upstream has no such test"]


def test_llmisvc_expectations_name_upstream_tests() -> None:
    assert upstream.missing_upstream(E2E_DIR, LLMISVC) == []
    assert LLMISVC.env == {"GATEWAY_CLASS_NAME": "local"}


def test_a_reported_name_is_selected_by_the_id_pytest_collected() -> None:
    """KServe's llmisvc conftest prefixes reported ids with the cluster markers; ``-k`` sees the collected id."""
    assert (
        upstream.keyword("test_x[cluster_cpu-cluster_single_node-router-managed-model]")
        == "test_x[router-managed-model]"
    )
    assert upstream.keyword("test_y[cluster_cpu-service]") == "test_y[service]"
    assert upstream.keyword("test_conversion") == "test_conversion"
    picked = upstream.Expectations(("test_x[cluster_cpu-a]",), {}, {}, {"test_z": "no stand-in"})
    assert picked.select() == "test_x[a]"


def test_verdict_rejects_an_exception_without_reason() -> None:
    no_reason = upstream.Expectations(("test_a",), {"test_b": " "})
    found = upstream.problems(_run(test_a="passed", test_b="failed"), no_reason)
    assert found == ["test_b is an exception without a reason"]


def test_outcomes_read_from_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="predictor.test_sklearn" name="test_ok" time="12.5"/>'
        '<testcase classname="predictor.test_sklearn" name="test_bad" time="90.1">'
        '<failure message="Failed: Timeout (&gt;90.0s) from pytest-timeout.">trace</failure></testcase>'
        '<testcase classname="predictor.test_sklearn" name="test_err" time="0.2">'
        '<error message="">x\ny</error></testcase>'
        "</testsuite></testsuites>"
    )
    got = upstream.outcomes(junit)
    assert got["test_ok"] == upstream.Outcome("test_ok", "passed", 12.5)
    timeout = "Failed: Timeout (>90.0s) from pytest-timeout."
    assert got["test_bad"] == upstream.Outcome("test_bad", "failed", 90.1, timeout)
    assert got["test_err"].outcome == "error"
    assert got["test_err"].message == "x y"
