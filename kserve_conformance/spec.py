"""What a conformance check declares about itself, as Gateway API's conformance tests do.

Each check carries a short name, a description, a level (``core``: what every KServe-compatible
deployment must do; ``extended``: what real implementations legitimately differ on) and the
features it needs. The report and Allure labels are generated from this, and a check whose
feature the target does not have is reported *not supported*, never failed.
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
