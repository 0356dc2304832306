"""The false-failure rate: one suite selection run N times, optionally beside a CPU hog, tabulated.

A conformance suite is worth its worst false failure, and a false failure shows up as a rate, not
in one run. This runs ``pytest ARGS`` ``--runs`` times against a healthy target, each run with its
own report directory, and reads every run's ``conformance-report.yaml``: per check item, how many
runs passed, failed, were invalid measurements, or anything else. On a healthy target every
``failed`` is a false failure; ``invalid`` is allowed and counted (the suite saying it could not
measure). ``--hog`` runs a busy loop pinned to one core for the whole of each run, as a CI
runner's neighbour would. Nothing here asserts: the figures go to the terminal and to
``--out`` (JSON), and into the closing notes that quote them.

    python bench/false_failures.py --runs 20 -- -p no:randomly
    python bench/false_failures.py --runs 10 --hog -- --kserve-services=llm-huggingface,llm-vllm \\
        -m "openai or llm_load"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml


def hog(core: int) -> subprocess.Popen[bytes]:
    """A busy loop pinned to one core (of the cores this process may use), until killed."""
    code = f"import os\nos.sched_setaffinity(0, {{{core}}})\nwhile True: pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def one_run(args: list[str], report_dir: Path, with_hog: bool) -> dict[str, Any]:
    busy = hog(max(os.sched_getaffinity(0))) if with_hog else None
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", f"--kserve-report-dir={report_dir}", *args],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    report = report_dir / "conformance-report.yaml"
    doc = yaml.safe_load(report.read_text()) if report.exists() else {}
    items = {
        item["test"]: {"outcome": item["outcome"], "message": item.get("message", "")[:300]}
        for check in doc.get("checks", [])
        for item in check["items"]
    }
    last = done.stdout.strip().splitlines()[-1:] or [""]
    return {
        "exit": done.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "summary": last[0],
        "profiles": {k: v.get("result") for k, v in (doc.get("profiles") or {}).items()},
        "items": items,
    }


def table(runs: list[dict[str, Any]]) -> str:
    """Per item with anything but a pass: its outcome counts over the runs; then the totals."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        for test, item in run["items"].items():
            counts[test][item["outcome"]] += 1
    total: Counter[str] = Counter()
    lines = ["| item | passed | failed | invalid | other |", "| --- | --- | --- | --- | --- |"]
    for test, c in sorted(counts.items()):
        total.update(c)
        other = sum(n for k, n in c.items() if k not in ("passed", "failed", "invalid"))
        if c["failed"] or c["invalid"]:
            lines.append(f"| {test} | {c['passed']} | {c['failed']} | {c['invalid']} | {other} |")
    other = sum(n for k, n in total.items() if k not in ("passed", "failed", "invalid"))
    lines.append(f"| **all {len(counts)}** | {total['passed']} | {total['failed']} | {total['invalid']} | {other} |")
    per_run = ", ".join(
        f"{i + 1}: exit {r['exit']} {r['seconds']}s {'/'.join(f'{k} {v}' for k, v in r['profiles'].items())}"
        for i, r in enumerate(runs)
    )
    return "\n".join([*lines, "", f"runs: {per_run}"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hog", action="store_true", help="a busy loop on one core during every run")
    parser.add_argument("--out", type=Path, help="write every run's outcomes here (JSON), after each run")
    parser.add_argument("pytest_args", nargs="*", help="after --: the selection, as for pytest")
    a = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="kserve-false-failures-") as tmp:
        for i in range(a.runs):
            run = one_run(a.pytest_args, Path(tmp) / f"run-{i}", a.hog)
            runs.append(run)
            failed = [t for t, item in run["items"].items() if item["outcome"] == "failed"]
            print(f"run {i + 1}/{a.runs}: {run['summary']} ({run['seconds']} s); failed: {failed or 'none'}")
            if a.out:  # after every run, so an interrupted series keeps what it measured
                a.out.write_text(json.dumps({"args": a.pytest_args, "hog": a.hog, "runs": runs}, indent=1))
    print(table(runs))


if __name__ == "__main__":
    main()


def table_from(path: Path) -> str:
    """The table of a series written with ``--out`` (also of one that was interrupted)."""
    return table(json.loads(path.read_text())["runs"])
