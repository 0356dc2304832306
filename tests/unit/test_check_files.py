"""Check files hold checks: ``conformance/`` is the checks, their parametrization and their constants.

A reader who opens ``conformance/test_x.py`` should find what is checked, not how a request is
made or a load spec built: that lives in the layer that owns it (``docs/ARCHITECTURE.md``), named
for what must hold, where other checks and the self-tests can use it without importing a check.

The rule, per module at module level (``ast``):

- ``conformance/`` holds only ``__init__.py`` and ``test_*.py`` modules;
- every ``def`` is a ``test_*`` check, or a ``@pytest.fixture`` (with or without arguments): a
  fixture that sets up what this module's checks run on (its own service, its timeouts, a stub)
  stays beside them, since the fixtures package's fixtures are global and named ``kserve_*``,
  and a module's own ``timeouts`` or ``stub`` moved there would be one for every check;
- no ``class``.

Constants (assignments), imports and ``pytestmark`` are free. The control: a tree with one of each
breach is named in full.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

MOVE = "move it to the layer that"


def is_fixture(decorator: ast.expr) -> bool:
    """``@pytest.fixture`` or ``@pytest.fixture(...)``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ast.unparse(target) in ("pytest.fixture", "fixture")


def breaches(checks: Path) -> list[str]:
    """Every module-level ``def``, ``class`` or module of ``checks`` that the rule does not allow."""
    found = []
    for path in sorted(checks.glob("*.py")):
        where = path.relative_to(checks.parent)
        if path.name != "__init__.py" and not path.name.startswith("test_"):
            found.append(f"{where}: not a check module (move it to the layer that owns what it does)")
            continue
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.ClassDef):
                found.append(f"{where}:{node.lineno}: class {node.name} ({MOVE} owns it)")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("test_") or any(is_fixture(d) for d in node.decorator_list):
                    continue
                found.append(f"{where}:{node.lineno}: def {node.name} is not a check ({MOVE} owns it)")
    return found


def test_the_check_files_hold_only_checks() -> None:
    assert breaches(REPO / "conformance") == []


def test_a_breach_of_each_kind_is_named(tmp_path: Path) -> None:
    """The control: a helper module, a helper function, a class; a check, a fixture and a constant pass."""
    checks = tmp_path / "conformance"
    checks.mkdir()
    (checks / "__init__.py").write_text("")
    (checks / "common.py").write_text("X = 1\n")
    (checks / "test_x.py").write_text(
        "import pytest\n"
        "LIMIT = 3\n"
        "@pytest.fixture(scope='module')\n"
        "def service(): ...\n"
        "@pytest.fixture\n"
        "def other(): ...\n"
        "def helper(): ...\n"
        "class Probe: ...\n"
        "@pytest.mark.parametrize('n', [1])\n"
        "def test_x(service, n): ...\n"
    )
    assert breaches(checks) == [
        "conformance/common.py: not a check module (move it to the layer that owns what it does)",
        "conformance/test_x.py:7: def helper is not a check (move it to the layer that owns it)",
        "conformance/test_x.py:8: class Probe (move it to the layer that owns it)",
    ]
