"""The import rule of ``docs/ARCHITECTURE.md``, enforced: every import of the two packages is one its table allows.

The table is read from the document itself, so the picture a newcomer reads and the rule CI
enforces cannot drift apart. Imports inside functions count (a lazy import is still an arrow).
The control: a tree with one forbidden import is caught, naming the file, the line and the rule.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

DOC = REPO / "docs" / "ARCHITECTURE.md"
PACKAGES = ("kserve_conformance", "kserve_local")


def rules(doc: Path = DOC) -> dict[str, set[str]]:
    """``layer -> layers it may import``, from the document's "| layer | may import |" table."""
    text = doc.read_text()
    table = text[text.index("| layer | may import |") :].split("\n\n", 1)[0].splitlines()[2:]
    out: dict[str, set[str]] = {}
    for row in table:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        out[cells[0]] = {name.strip() for name in cells[1].split(",") if name.strip()} if len(cells) > 1 else set()
    return out


def layer_of(path: Path, root: Path) -> str:
    """``kserve_conformance/cluster/kube.py`` → ``cluster``; ``fixtures/owned.py`` → ``fixtures``; ``kserve_local/...``
    → ``kserve_local``."""
    parts = path.relative_to(root).parts
    if parts[0] == "kserve_conformance":
        return parts[1].removesuffix(".py") if len(parts) > 1 and parts[1] != "__init__.py" else "kserve_conformance"
    return parts[0]


def target_layer(module: str) -> str | None:
    """The layer an imported module belongs to; None for anything outside the two packages."""
    parts = module.split(".")
    if parts[0] == "kserve_local":
        return "kserve_local"
    if parts[0] != "kserve_conformance":
        return None
    if len(parts) == 1:
        return "kserve_conformance"
    return {"conformance": "conformance", "fixtures": "fixtures"}.get(parts[1], parts[1])


def imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from kserve_conformance import x`` imports the submodule x when there is one
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module in PACKAGES else [node.module]
            yield from ((node.lineno, name) for name in names)


def sources(root: Path) -> Iterator[Path]:
    for top in ("kserve_conformance", "kserve_local", "fixtures", "conformance"):
        yield from sorted((root / top).rglob("*.py"))


def violations(root: Path, allowed: dict[str, set[str]]) -> list[str]:
    found = []
    for path in sources(root):
        src = layer_of(path, root)
        if src == "kserve_conformance":  # the package's face (__init__): its version, nothing else
            continue
        if src not in allowed:
            found.append(f"{path.relative_to(root)}: layer {src!r} is not in the table of {DOC.name}")
            continue
        for line, module in imports(path):
            dst = target_layer(module)
            if dst is None or dst in (src, "kserve_conformance") or dst in allowed[src]:
                continue
            if module == "kserve_conformance.__version__":
                continue
            found.append(
                f"{path.relative_to(root)}:{line}: {src} imports {module} ({dst}), which {DOC.name} "
                f"does not allow ({src} may import: {', '.join(sorted(allowed[src])) or 'nothing'})"
            )
    return found


def test_every_import_points_the_way_the_architecture_says() -> None:
    assert violations(REPO, rules()) == []


def test_the_table_names_every_layer() -> None:
    layers = {layer_of(p, REPO) for p in sources(REPO)} - {"kserve_conformance"}
    assert layers <= set(rules()), f"layers missing from {DOC.name}: {sorted(layers - set(rules()))}"


def test_no_product_layer_may_import_the_test_kits() -> None:
    """``testing`` (known targets, the peer tools' readers) is for tests/ and bench/ only: a row that
    lists it would let the suite depend on a test kit, so the table itself is held to that."""
    listing = sorted(layer for layer, allowed in rules().items() if "testing" in allowed)
    assert listing == [], f"{DOC.name} lets {listing} import testing: only tests/ and bench/ may"


@pytest.mark.parametrize(
    ("where", "code", "named"),
    [
        (
            "kserve_conformance/cluster/bad.py",
            "from kserve_conformance.fixtures.owned import owned\n",
            "cluster imports kserve_conformance.fixtures.owned (fixtures)",
        ),
        (
            "kserve_conformance/load/bad.py",
            "def f():\n    import kserve_local.faults\n",
            "load imports kserve_local.faults (kserve_local)",
        ),
        (
            "kserve_conformance/load/bad.py",
            "from kserve_conformance.testing.known_target import serve\n",
            "load imports kserve_conformance.testing.known_target (testing)",
        ),
        (
            "kserve_local/bad.py",
            "from kserve_conformance.cluster import urls\n",
            "kserve_local imports kserve_conformance.cluster (cluster)",
        ),
        (
            "kserve_conformance/checks/bad.py",
            "from kserve_conformance import report\n",
            "checks imports kserve_conformance.report (report)",
        ),
    ],
)
def test_a_forbidden_import_is_named(tmp_path: Path, where: str, code: str, named: str) -> None:
    """The control: the same rule over a tree with one forbidden import, lazy ones included."""
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(code)
    found = violations(tmp_path, rules())
    assert len(found) == 1 and named in found[0] and re.search(r"bad\.py:\d+: ", found[0]), found
