"""The suite process never imports the ``kserve`` server package, so KServe never parses its command line.

Importing anything under ``kserve`` runs its model server's module-level argparse over
``sys.argv``; in a pytest run that exits the whole run (``INTERNALERROR ... SystemExit: 2``) as soon
as an argument shares a name with one of KServe's flags and fails its check: the suite's own
deprecated ``--protocol openai``, or a user's conftest option named like ``--http_port``. The V2
gRPC checks therefore take their stubs from ``open-inference-grpc``; this collects the checks, in
a child process whose ``sys.argv`` holds the arguments as a real run's would, with KServe's own
flag names (read from its parser, not listed by hand) given values its parser would refuse.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.controls.runner import suite_env

# Runs the collection in one process and reports what happened in it: the options registered, the
# node ids, whether kserve (or the gRPC stubs) got imported, and every child process started.
DRIVER = """
import json, subprocess, sys

out, args = sys.argv[1], sys.argv[2:]
seen = {"started": [], "options": [], "nodeids": [], "modules": []}
popen_init = subprocess.Popen.__init__


def spy(self, cmd, *a, **k):
    seen["started"].append(cmd if isinstance(cmd, str) else " ".join(map(str, cmd)))
    popen_init(self, cmd, *a, **k)


subprocess.Popen.__init__ = spy


class Recorder:
    def pytest_configure(self, config):
        parser = config._parser
        groups = [parser._anonymous, *parser._groups]
        seen["options"] = sorted({n for g in groups for o in g.options for n in o.names()})

    def pytest_collection_finish(self, session):
        seen["nodeids"] = [item.nodeid for item in session.items]
        seen["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("kserve", "open_inference"))


sys.argv = ["pytest", *args]  # where kserve's argparse would read them, as in a real run
import pytest

try:
    seen["rc"] = int(pytest.main(args, plugins=[Recorder()]))
except SystemExit as e:
    seen["rc"], seen["system_exit"] = e.code, True
with open(out, "w") as f:
    json.dump(seen, f)
"""

# Lists KServe's model-server flags from its own parser (kserve's import parses this argv).
KSERVE_FLAGS = """
import json, sys
sys.argv = ["x"]
from kserve.model_server import parser
print(json.dumps([
    {"flags": a.option_strings, "nargs": a.nargs, "choices": list(a.choices or []), "int": a.type is int}
    for a in parser._actions if a.option_strings
]))
"""

# A user's conftest that owns options named like KServe's flags.
USER_CONFTEST = """
FLAGS = {flags!r}


def pytest_addoption(parser):
    for flag, takes_value in FLAGS.items():
        parser.addoption(flag, action="store" if takes_value else "store_true")
"""

ALIASES = ("--protocol", "openai", "--endpoint", "http://127.0.0.1:1", "--model-name", "M")
PREFIXED = ("--kserve-protocol", "openai", "--kserve-endpoint", "http://127.0.0.1:1", "--kserve-model-name", "M")


def collect(tmp_path: Path, name: str, *args: str) -> dict[str, Any]:
    """Collect the checks from the checkout (default: the local cluster) with ``args``; what the driver saw."""
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), "--collect-only", "-q", "-p", "no:randomly", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )
    assert out.is_file(), f"the driver wrote nothing: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    seen: dict[str, Any] = json.loads(out.read_text())
    seen["output"] = done.stdout + done.stderr
    return seen


def assert_clean(seen: dict[str, Any]) -> None:
    tail = seen["output"][-3000:]
    assert seen["rc"] == 0 and not seen.get("system_exit"), f"collection ended with {seen['rc']}: {tail}"
    assert "INTERNALERROR" not in seen["output"] and "SystemExit" not in seen["output"], tail
    assert seen["nodeids"], f"nothing collected: {tail}"
    imported = [m for m in seen["modules"] if m.split(".")[0] == "kserve"]
    assert imported == [], f"the suite process imported kserve: {imported[:5]}"
    assert "open_inference.grpc.protocol" in seen["modules"], "the gRPC checks were not imported (no control)"
    targets = [cmd for cmd in seen["started"] if "kserve_local" in cmd]
    assert targets == [], f"collection started the local target: {targets}"


@cache
def kserve_flags() -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", KSERVE_FLAGS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"cannot read kserve's model-server parser: {done.stderr[-2000:]}"
    flags: list[dict[str, Any]] = json.loads(done.stdout)
    return flags


def refused_value(action: dict[str, Any]) -> list[str]:
    """The flag with a value KServe's parser would refuse where it checks one (so importing it exits)."""
    if action["nargs"] == 0:
        return [action["flags"][0]]
    value = "not-a-choice" if action["choices"] else "not-a-number" if action["int"] else "x"
    return [action["flags"][0], value]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    seen = collect(tmp_path_factory.mktemp("baseline"), "baseline")
    assert_clean(seen)
    assert any("test_v2_grpc.py::" in n for n in seen["nodeids"]), "the default run collects no gRPC check"
    return seen


def test_kserve_would_refuse_the_deprecated_protocol_alias() -> None:
    """The premise: ``--protocol openai`` is a flag of KServe's with a choice it does not have."""
    protocol = next(a for a in kserve_flags() if "--protocol" in a["flags"])
    assert "openai" not in protocol["choices"], protocol
    assert {"--http_port", "--grpc_port", "--model_name"} <= {f for a in kserve_flags() for f in a["flags"]}


def test_deprecated_aliases_collect_as_the_prefixed_names(tmp_path: Path, baseline: dict[str, Any]) -> None:
    old = collect(tmp_path, "aliases", *ALIASES)
    assert_clean(old)
    assert "deprecated option names: --protocol (now --kserve-protocol)" in old["output"], old["output"][-2000:]
    new = collect(tmp_path, "prefixed", *PREFIXED)
    assert_clean(new)
    assert old["nodeids"] == new["nodeids"]


def test_user_options_named_like_every_kserve_flag(tmp_path: Path, baseline: dict[str, Any]) -> None:
    """A user's conftest owns every KServe flag nobody else registered; each is given a value KServe refuses."""
    taken = set(baseline["options"])
    free = [a for a in kserve_flags() if not taken & set(a["flags"])]
    assert len(free) >= 20, f"most of kserve's flags should be free to take: {[a['flags'] for a in free]}"
    conftest_dir = tmp_path / "user"
    conftest_dir.mkdir()
    flags = {a["flags"][0]: a["nargs"] != 0 for a in free}
    (conftest_dir / "conftest.py").write_text(USER_CONFTEST.format(flags=flags))
    args = [arg for a in free for arg in refused_value(a)]
    seen = collect(tmp_path, "user", "conformance", str(conftest_dir), *args)
    assert_clean(seen)
    assert set(flags) <= set(seen["options"]), "the user's conftest was not loaded (no control)"
    assert seen["nodeids"] == baseline["nodeids"]


def test_control_importing_kserve_in_the_suite_process_exits(tmp_path: Path) -> None:
    """The control: the same collection with kserve imported in-process (as the checks once did) fails."""
    conftest_dir = tmp_path / "imports-kserve"
    conftest_dir.mkdir()
    (conftest_dir / "conftest.py").write_text("import kserve  # noqa: F401\n")
    seen = collect(tmp_path, "control", "conformance", str(conftest_dir), *ALIASES)
    assert seen["rc"] != 0, seen["output"][-2000:]
    assert seen.get("system_exit") or "SystemExit" in seen["output"], seen["output"][-2000:]
