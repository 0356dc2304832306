"""The parallel pass's slowest-first list names files that exist (a rename would silently drop one)."""

from __future__ import annotations

import yaml

from tests.conftest import REPO, SLOW_FILES


def test_every_listed_slow_file_exists() -> None:
    listed: dict[str, float] = yaml.safe_load(SLOW_FILES.read_text())
    missing = [path for path in listed if not (REPO / path).is_file()]
    assert not missing, f"{SLOW_FILES.name} lists files that do not exist: {missing}"
