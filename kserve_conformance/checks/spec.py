"""What a conformance check declares about itself, as Gateway API's conformance tests do.

Each check carries a short name, its rule, the spec sentence(s) the rule rests on, a level and
the features it needs (the vocabulary is ``features.py``). The report and Allure labels are
generated from this, and a check whose feature the target does not have is reported
*not supported*, never failed.

One rule decides every level:

* **core** is what the Open Inference Protocol (or KServe's API, for the control plane)
  requires *and* every runtime KServe ships for the served model does: kserve-sklearnserver
  (KServe's own ModelServer, 0.21) and kserve-mlserver (MLServer 1.7). A core failure means the
  deployment is not KServe-compatible, so core can never be excused by a known deviation.
  For the ``openai`` family the spec is the OpenAI API reference and the runtimes are
  kserve-huggingfaceserver (KServe's OpenAI layer, 0.21) and kserve-vllmserver (vLLM's own server).
* **extended** is the rest of what the spec requires or recommends, and what it leaves to the
  implementation (a feature such as an extension or model versions). A server that lacks a
  feature is *not supported*; a server release known to break a requirement upstream is a
  *known deviation* (``conformance/data/known-deviations.yaml``: the check, the spec sentence,
  the upstream issue where one exists), counted as such and never silently passed.

A check's ``rule`` says what it asserts in the suite's words; its ``spec`` quotes, in double quotes
and word for word, the sentence(s) of the specification the rule rests on, so a reader (and the
quote self-tests) can hold one against the other. A rule comes from the spec's text, not from what
the servers the suite was tried on happen to do: other OIP servers exist. A check on behaviour no
sentence states (an address KServe computes, a tutorial's answer) has no ``spec``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pytest

from kserve_conformance.checks.features import Feature, Level

CORE, EXTENDED = Level.CORE, Level.EXTENDED
NOT_SUPPORTED = "not supported:"
NOT_APPLICABLE = "not applicable:"
# A measurement the suite itself could not make trustworthy (e.g. a starved load generator): not a
# verdict on the target either way. The item is skipped under this prefix (a busy machine never turns
# into a failed run), and the report counts it as invalid, which keeps its profile from success.
INVALID = "invalid measurement:"


@dataclass(frozen=True)
class After:
    """A check that judges what an earlier check of its module left behind (a canary to promote,
    a predictor at zero replicas): it runs after that check, and only once that check passed.

    The order is the collection's (``fixtures/steps.py``), not the file's, so random ordering or
    a selection cannot run a step before its predecessor; when the predecessor did not pass, the
    check says so instead of failing a second time.
    """

    check: str
    because: str  # what is missing when the predecessor did not pass: "there is no canary to promote"
    not_applicable: bool = False  # True: the check has nothing to judge at all (reported not applicable)

    def reason(self, what: str = "did not pass") -> str:
        return f"{self.check} {what}, so {self.because}"


@dataclass(frozen=True)
class Check:
    name: str
    rule: str  # what the check asserts, in the suite's words
    spec: str = ""  # the specification's sentence(s) the rule rests on, quoted in double quotes
    level: Level = Level.CORE
    features: tuple[Feature, ...] = ()
    after: After | None = None

    @property
    def description(self) -> str:
        """Rule and quote as one text, as Allure's description shows them (Markdown: a blank line between)."""
        return f"Rule: {self.rule}\n\nSpec: {self.spec}" if self.spec else f"Rule: {self.rule}"


def conformance(
    name: str,
    rule: str,
    *,
    spec: str = "",
    level: Level = Level.CORE,
    features: tuple[Feature, ...] = (),
    after: After | None = None,
) -> pytest.MarkDecorator:
    """Declare a check. Level and features are converted, so a misspelt one fails at import, not in a report."""
    if spec and '"' not in spec:
        raise ValueError(f"{name}: spec quotes the specification in double quotes, word for word: {spec!r}")
    check = Check(name, rule, spec, Level(level), tuple(Feature(f) for f in features), after)
    return pytest.mark.conformance(check)


def check_of(item: pytest.Item) -> Check | None:
    marker = item.get_closest_marker("conformance")
    check: Check | None = marker.args[0] if marker else None
    return check


def not_supported(feature: Feature, why: str) -> NoReturn:
    pytest.skip(f"{NOT_SUPPORTED} {feature}: {why}")


def not_applicable(why: str) -> NoReturn:
    pytest.skip(f"{NOT_APPLICABLE} {why}")


def invalid_measurement(why: str) -> NoReturn:
    """Neither pass nor fail: what on the measuring side invalidated the measurement, with its figures."""
    pytest.skip(f"{INVALID} {why}")
