"""KServe components a distribution may leave out, and the core checks their absence excuses.

KServe's LLMInferenceService is an optional, alpha component: a distribution that does not ship
it serves no CRD for it, and every check of its family is then *not supported*. By Gateway API's
rule that makes the report's core profile partial (it names those checks, which is true), and
the verifier asks a submission for core success. A vendor whose distribution does not ship the
component must not be failed for it; one that ships it must pass its core checks as any other.
So a core check not supported is excused only where its component is wholly absent (every check
declaring the component's feature is not supported or not applicable, at least one of them not
supported: ``data/certification.yaml``, ``optionalComponents``) and each of its items not supported
says it was for that feature. A component half there (one of its checks not supported while
another ran) is not absent, and its core checks count as every core check does.
"""

from __future__ import annotations

from typing import Any

from kserve_conformance.certification.rules import rules
from kserve_conformance.checks.spec import NOT_SUPPORTED

ABSENT = ("not-supported", "not-applicable")  # outcomes of a check whose component is not there to judge


def optional() -> dict[str, dict[str, str]]:
    """Feature (as the report spells it) -> what it is and how its absence shows."""
    table: dict[str, dict[str, str]] = rules().get("optionalComponents") or {}
    return table


def absent(checks: list[dict[str, Any]]) -> list[str]:
    """The optional components this report shows wholly absent (by feature)."""
    found = []
    for feature in optional():
        outcomes = [c.get("outcome") for c in checks if feature in (c.get("features") or ())]
        if "not-supported" in outcomes and all(o in ABSENT for o in outcomes):
            found.append(feature)
    return found


def excused(checks: list[dict[str, Any]]) -> list[str]:
    """The core checks not supported only because an optional component is absent: each of their items
    not supported says it was for that component's feature (an openai check run through the
    LLMInferenceService's URL as well as the family's own), the rest passed or were not applicable."""
    reasons = tuple(f"{NOT_SUPPORTED} {feature}:" for feature in absent(checks))
    return sorted(
        str(c.get("name"))
        for c in checks
        if reasons
        and c.get("level") == "core"
        and c.get("outcome") == "not-supported"
        and all(
            str(i.get("message") or "").startswith(reasons)
            for i in c.get("items") or [c]
            if i.get("outcome") == "not-supported"
        )
    )


def core_shortfall(checks: list[dict[str, Any]]) -> list[str]:
    """The core checks short of a pass that fail a submission: all but those not applicable and those excused."""
    spared = set(excused(checks))
    return sorted(
        str(c.get("name"))
        for c in checks
        if c.get("level") == "core"
        and c.get("outcome") not in ("passed", "not-applicable")
        and c.get("name") not in spared
    )
