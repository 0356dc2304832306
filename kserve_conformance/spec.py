"""What a conformance check declares about itself, as Gateway API's conformance tests do.

Each check carries a short name, a description, a level and the features it needs. The report
and Allure labels are generated from this, and a check whose feature the target does not have
is reported *not supported*, never failed.

One rule decides every level:

* **core** is what the Open Inference Protocol (or KServe's API, for the control plane)
  requires *and* every runtime KServe ships for the served model does: kserve-sklearnserver
  (KServe's own ModelServer, 0.21) and kserve-mlserver (MLServer 1.7). A core failure means the
  deployment is not KServe-compatible, so core can never be excused by a known deviation.
* **extended** is the rest of what the spec requires or recommends, and what it leaves to the
  implementation (a feature such as an extension or model versions). A server that lacks a
  feature is *not supported*; a server release known to break a requirement upstream is a
  *known deviation* (``conformance/data/known-deviations.yaml``: the check, the spec sentence,
  the upstream issue where one exists), counted as such and never silently passed.

Each check's description quotes the sentence it rests on. A rule comes from the spec's text, not
from what the servers the suite was tried on happen to do: other OIP servers exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

CORE, EXTENDED = "core", "extended"
NOT_SUPPORTED = "not supported:"
NOT_APPLICABLE = "not applicable:"
# A measurement the suite itself could not make trustworthy (e.g. a starved load generator): not a
# verdict on the target either way. The check fails (a report cannot pass on it) under this prefix.
INVALID = "invalid measurement:"


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    level: str = CORE
    features: tuple[str, ...] = ()


def conformance(name: str, description: str, level: str = CORE, features: tuple[str, ...] = ()) -> pytest.MarkDecorator:
    if level not in (CORE, EXTENDED):
        raise ValueError(f"level must be {CORE} or {EXTENDED}")
    return pytest.mark.conformance(Check(name, description, level, features))


def check_of(item: pytest.Item) -> Check | None:
    marker = item.get_closest_marker("conformance")
    return marker.args[0] if marker else None


def not_supported(feature: str, why: str) -> None:
    pytest.skip(f"{NOT_SUPPORTED} {feature}: {why}")


def not_applicable(why: str) -> None:
    pytest.skip(f"{NOT_APPLICABLE} {why}")
