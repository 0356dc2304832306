"""Errors that end a run with one line naming the problem and the fix."""

from __future__ import annotations

from typing import NoReturn

import pytest


class SetupError(Exception):
    """The target cannot be used as given: the message says what is wrong and what to do.

    The plugin turns it into a single line and a non-zero exit instead of a traceback, because
    a user who points the suite at the wrong cluster needs the fix, not our stack.
    """

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} — {fix}")
        self.problem, self.fix = problem, fix


def fail_setup(err: SetupError) -> NoReturn:
    """End the run with the one line a user needs, not a traceback (exit code 4, pytest's usage error)."""
    pytest.exit(f"kserve-conformance: {err}", returncode=4)
