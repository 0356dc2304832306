"""``--option VALUE`` and ``--option=VALUE`` parse and collect the same, for every option and old name.

pytest guesses its rootdir from arguments it does not know before plugins load; an existing
path given with a space used to move the rootdir and pull the self-tests into the run. The old
names from before the ``--kserve-`` prefix were worse: rewritten only after the initial conftests,
``--report-dir DIR`` or ``--model-name /path/to/model`` (vLLM's model id is its path) left DIR
a test path to the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kserve_conformance.plugin.options import Option, options
from tests.controls.runner import REPO, suite_env


def collected(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1].split(" in ")[0]  # "68 tests collected"


@pytest.mark.parametrize("option", ["--kserve-report-dir", "--kubeconfig", "--kserve-local-crd"])
def test_space_and_equals_forms_collect_the_same(tmp_path: Path, option: str) -> None:
    value = tmp_path / "value"
    if option == "--kserve-report-dir":
        value.mkdir()
    else:
        value.write_text("apiVersion: v1\n")
    spaced, joined = collected(option, str(value)), collected(f"{option}={value}")
    assert spaced == joined, f"{option} VALUE: {spaced}; {option}=VALUE: {joined}"


def test_the_default_run_is_the_checks_only() -> None:
    """The control: what both forms must agree with is the suite's own 'testpaths'."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )
    assert "tests/" not in done.stdout and "conformance/" in done.stdout, done.stdout[-2000:]


# Read in the run after the command line is parsed and before the plugin validates it
# (pytest_configure), so that a value the suite refuses is seen as parsed too.
PROBE = """
import json
import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    dests = os.environ["KSERVE_CONFORMANCE_TEST_DESTS"].split(",")
    seen = {
        "options": {dest: getattr(config.option, dest) for dest in dests},
        "args": config.args,  # what is collected
        "rootdir": str(config.rootpath),
        "inifile": str(config.inipath),
        "initial_conftests_from": config.known_args_namespace.file_or_dir,
    }
    with open(os.environ["KSERVE_CONFORMANCE_TEST_PROBE"], "w") as out:
        json.dump(seen, out)
"""
VALUE_TEST = "def test_x():\n    pass\n"
# Loaded only if pytest took the value for a test path when it looked for the initial conftests.
VALUE_CONFTEST = "from pathlib import Path\n\nPath(__file__).with_name('conftest-was-loaded').touch()\n"


ERROR = "ERROR: kserve-conformance: "


def value_of(option: Option, directory: Path) -> str:
    """An existing directory where any text is accepted; else a valid non-default choice, or 1."""
    if option.choices:
        return next(c for c in reversed(option.choices) if c != option.default)
    if option.type in ("int", "float"):
        return "1"  # within every numeric option's bounds
    return str(directory)


def parsed(option: Option, value: str) -> Any:
    return {"int": int, "float": float, "list": lambda v: [v]}.get(option.type, str)(value)


def names(kind: str) -> list[tuple[str, Option]]:
    """Every option that takes a value, by its name or by its old one (from options.yaml)."""
    return [
        (option.flag if kind == "new" else option.old_flag, option)
        for option in options()
        if option.type != "flag" and (kind == "new" or option.old_flag)
    ]


def collect(given: list[tuple[str, Option]], form: str, directory: Path, work: Path) -> dict[str, Any]:
    args = []
    for name, option in given:
        value = value_of(option, directory)
        args += [name, value] if form == "spaced" else [f"{name}={value}"]
    probe = work / f"probe-{os.urandom(4).hex()}.json"
    plugins = ["-p", "no:cacheprovider", "-p", "no:randomly", "-p", "kserve_conformance_test_probe"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *plugins, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=suite_env(
            PYTHONPATH=os.pathsep.join([str(work), *filter(None, [os.environ.get("PYTHONPATH")])]),
            KSERVE_CONFORMANCE_TEST_DESTS=",".join(option.dest for _, option in given),
            KSERVE_CONFORMANCE_TEST_PROBE=str(probe),
        ),
    )
    output = done.stdout + done.stderr
    return {
        "exit": done.returncode,
        "seen": json.loads(probe.read_text()) if probe.exists() else None,
        "nodeids": [line for line in done.stdout.splitlines() if "::" in line],
        "errors": sorted(line for line in output.splitlines() if line.startswith(ERROR)),
        "output": output,
    }


def refuses(line: str, option: Option) -> bool:
    """The one line per refused option names it: ``--kserve-services=X: ...``, ``--kserve-storage-uri-map 'X'``."""
    return line.startswith((f"{ERROR}{option.flag}=", f"{ERROR}{option.flag} "))


def differences(spaced: dict[str, Any], joined: dict[str, Any]) -> list[str]:
    """What the two forms' runs disagree on; in the probe's record, each entry that differs by name."""
    found = []
    for key in ("exit", "seen", "nodeids", "errors"):
        a, b = spaced[key], joined[key]
        if key == "seen" and a is not None and b is not None:
            a, b = flat(a), flat(b)
            differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            a, b = {k: a.get(k) for k in differ}, {k: b.get(k) for k in differ}
        if a != b:
            found.append(f"{key}: spaced {a!r:.3000}, with = {b!r:.3000}")
    if spaced["exit"] != joined["exit"]:
        found += [f"spaced output: {spaced['output'][-2000:]}", f"with = output: {joined['output'][-2000:]}"]
    return found


def flat(seen: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in seen.items() if k != "options"}, **seen["options"]}


@pytest.mark.parametrize("kind", ["new", "old"])
def test_every_option_and_old_name_parses_and_collects_the_same_in_both_forms(tmp_path: Path, kind: str) -> None:
    """All of a kind's names in one command line, both forms; the probe tells each option's value apart.

    A run per option and form would be about 180 collections of the checks (2 s of CPU each);
    what could differ between them, the value being taken for a test path by pytest's early
    rootdir guess, acts on all the spaced values of a command line at once. First every name
    (values the suite refuses end the run in pytest_configure, after the probe), then the
    names whose values it accepts, collected.
    """
    directory = tmp_path / "value"
    directory.mkdir()
    (directory / "test_x.py").write_text(VALUE_TEST)
    (directory / "conftest.py").write_text(VALUE_CONFTEST)
    (tmp_path / "kserve_conformance_test_probe.py").write_text(PROBE)
    given = names(kind)
    assert len(given) > 30, given  # the control: options.yaml was read
    expected = {option.dest: parsed(option, value_of(option, directory)) for _, option in given}

    with ThreadPoolExecutor(max_workers=2) as pool:
        every = list(pool.map(lambda form: collect(given, form, directory, tmp_path), ("spaced", "joined")))
        refused = {o.dest for _, o in given if any(refuses(line, o) for line in every[1]["errors"])}
        accepted = [(name, option) for name, option in given if option.dest not in refused]
        runs = list(pool.map(lambda form: collect(accepted, form, directory, tmp_path), ("spaced", "joined")))

    for spaced, joined in (every, runs):
        assert not differences(spaced, joined), "\n".join(differences(spaced, joined))
        assert spaced["seen"] is not None, spaced["output"][-3000:]
        seen = spaced["seen"]
        wrong = {d: (v, expected[d]) for d, v in seen["options"].items() if v != expected[d]}
        assert not wrong, f"parsed, given: {wrong}"
        assert seen["args"] == ["conformance"] and seen["initial_conftests_from"] == [], seen
        assert (seen["rootdir"], seen["inifile"]) == (str(REPO), str(REPO / "pyproject.toml")), seen
    spaced = runs[0]
    assert spaced["exit"] == 0 and spaced["nodeids"], spaced["output"][-3000:]
    assert not [n for n in spaced["nodeids"] if "test_x" in n or "tests/" in n], spaced["nodeids"]
    assert not (directory / "conftest-was-loaded").exists(), "the value's conftest.py was loaded"
    if kind == "old":
        for name, option in accepted:
            assert f"{name} (now {option.flag})" in spaced["output"], f"no deprecation warning for {name}"
    assert len(refused) < len(given) / 2, refused  # the control: most options were collected with


USERS_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--model-name")
    parser.addoption("--endpoint", action="store_true")
"""
USERS_TEST = """
def test_my_options_are_mine(request):
    assert request.config.getoption("model_name").endswith("models")
    assert request.config.getoption("endpoint") is True
"""


def test_a_conftests_own_old_name_keeps_its_meaning_in_both_forms(tmp_path: Path) -> None:
    """An old name a conftest registers is the conftest's, a flag or not, in both forms; its value is not collected."""
    project, models = tmp_path / "project", tmp_path / "models"
    project.mkdir()
    (project / "conftest.py").write_text(USERS_CONFTEST)
    (project / "test_mine.py").write_text(USERS_TEST)
    models.mkdir()
    (models / "test_x.py").write_text(VALUE_TEST)
    for args in (["--model-name", str(models)], [f"--model-name={models}"]):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-v", "--endpoint", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            env=suite_env(),
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "test_mine.py::test_my_options_are_mine PASSED" in done.stdout, done.stdout[-3000:]
        assert "test_x" not in done.stdout and "deprecated" not in done.stdout.lower(), done.stdout[-3000:]
