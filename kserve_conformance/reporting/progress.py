"""Live progress lines on the terminal, even while pytest captures output: waits must show they progress."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

Progress = Callable[[str], None]


def progress(config: pytest.Config) -> Progress:
    """A writer of ``[kserve-conformance] ...`` lines; silent where there is no terminal reporter."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(message: str) -> None:
        if reporter is None:
            return
        # Output capture would hold the line until the test ends (and drop it if it passes).
        suspended = capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
        with suspended:
            reporter.write_line(f"[kserve-conformance] {message}")

    return write
