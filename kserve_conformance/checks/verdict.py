"""The verdict: how item outcomes make a check's outcome, and check outcomes a profile's result.

Pure data in, data out, so the conformance report and the reviewer's verifier compute counts
and results with the same code and nothing else (no pytest, no cluster).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    name: str
    test: str
    level: str
    features: tuple[str, ...]
    outcome: str = "passed"
    message: str = ""
    figures: dict[str, float] = field(default_factory=dict)
    rule: str = ""  # what the check asserts (the same for all its items)
    spec: str = ""  # the spec sentence(s) the rule rests on, quoted


# Worst first: the outcome a check gets from its items.
OUTCOME_ORDER = ("failed", "invalid", "skipped", "known-deviation", "passed", "not-supported", "not-applicable")
NAME_LISTS = {
    "failedTests": "failed",
    "invalidTests": "invalid",
    "skippedTests": "skipped",
    "knownDeviationTests": "known-deviation",
    "unsupportedTests": "not-supported",
    "notApplicableTests": "not-applicable",
}


def profile_result(counts: Counter[str]) -> str:
    """Gateway API's rule: any failed check fails the profile; anything short of a pass is partial.

    An invalid measurement is the suite's failure to measure, not the target's: no verdict on the
    target, so partial, never success. Not applicable (a check about something the run does not
    have at all, e.g. the control plane under ``--kserve-endpoint``) does not make a profile partial.
    """
    if counts["failed"]:
        return "failure"
    if counts["skipped"] or counts["not-supported"] or counts["known-deviation"] or counts["invalid"]:
        return "partial"
    return "success"


def checks(results: Iterable[Result]) -> list[dict[str, Any]]:
    """One entry per check (its short name), with its pytest items listed under it.

    A check's outcome is the worst of its items': a check that failed for one service or
    one input failed. Not supported and not applicable rank below passed, so a check that
    ran somewhere and passed there counts as passed.
    """
    grouped: dict[str, list[Result]] = {}
    for result in results:
        grouped.setdefault(result.name, []).append(result)
    checks = []
    for name, items in grouped.items():
        worst = min(items, key=lambda r: OUTCOME_ORDER.index(r.outcome))
        checks.append(
            {
                "name": name,
                "level": worst.level,
                "features": list(worst.features),
                "rule": worst.rule,
                "spec": worst.spec,
                "outcome": worst.outcome,
                "message": worst.message,
                "items": [
                    {
                        "test": r.test,
                        "outcome": r.outcome,
                        "message": r.message,
                        **({"figures": r.figures} if r.figures else {}),
                    }
                    for r in items
                ],
            }
        )
    return checks


def profiles(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Per level, the result by Gateway API's rule with the exact counts and the names behind them."""
    profiles: dict[str, Any] = {}
    for level in ("core", "extended"):
        results = [c for c in checks if c["level"] == level]
        if not results:
            continue
        counts = Counter(c["outcome"] for c in results)
        profiles[level] = {
            "result": profile_result(counts),
            "checks": len(results),
            "passed": counts["passed"],
            "failed": counts["failed"],
            "skipped": counts["skipped"],
            "notSupported": counts["not-supported"],
            "notApplicable": counts["not-applicable"],
            "knownDeviations": counts["known-deviation"],
            "invalid": counts["invalid"],
            **{
                key: sorted(c["name"] for c in results if c["outcome"] == outcome)
                for key, outcome in NAME_LISTS.items()
            },
        }
    return profiles
