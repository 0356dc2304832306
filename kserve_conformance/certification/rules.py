"""Certification runs: every check, the published thresholds, and a record of how the run was made.

A vendor's report is only worth something if nothing was left out. Like Sonobuoy's
``--mode certified-conformance``, ``--kserve-certification`` refuses to start (one line per problem,
exit 4) when the selection is narrowed (``-k``, ``-m``, ``--deselect``, a ``--kserve-services`` subset,
test paths other than the checks' package) or a threshold is looser than the published default,
and it needs every ``--implementation-*`` field. What it holds fixed is data
    path = resources.files("kserve_conformance.certification") / "data" / "certification.yaml"
    return yaml.safe_load(path.read_text())
versions of Python, the suite and the pytest plugins, so a reviewer sees what produced it.
"""

from __future__ import annotations

import functools
import platform
import shlex
import sys
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from kserve_conformance import __version__
from kserve_conformance.certification import ai_conformance, bundle

MODE_KEY = pytest.StashKey[str]()
SELECTION_KEY = pytest.StashKey[dict[str, Any]]()
CERTIFICATION, REHEARSAL, DEFAULT_MODE = "certification", "rehearsal", "default"
PACKAGE = "kserve_conformance.conformance"


@functools.cache
def rules() -> dict[str, Any]:
    path = resources.files("kserve_conformance.certification") / "data" / "certification.yaml"
    table: dict[str, Any] = yaml.safe_load(path.read_text())
    return table


@functools.cache
def checks_dir() -> Path:
    """Where the checks' package lies (imports only its ``__init__``); asked for every collected file."""
    return Path(str(resources.files(PACKAGE))).resolve()


def narrowing(config: pytest.Config) -> list[str]:
    """Every way this command line narrows or bends the run, named as the user wrote it."""
    found = []
    option = config.option
    for dest, flag in rules()["refused"].items():
        value = getattr(option, dest, None)
        if dest == "kserve_services" and value and _all_services(value):
            continue  # naming every service narrows nothing
        if value and not (dest == "maxfail" and value == 0):
            found.append(f"{flag} {value if not isinstance(value, list) else ' '.join(map(str, value))}".strip())
    for arg in config.args:
        if not _is_the_package(arg, config):
            found.append(f"test path {arg}")
    return found


def _all_services(selected: str) -> bool:
    from kserve_conformance.checks import catalog

    # every default service, and any opt-in ones besides (they add checks, never remove any)
    named = {s.strip() for s in selected.split(",")}
    return {e.id for e in catalog.services()} <= named <= {e.id for e in catalog.services(every=True)}


def _is_the_package(arg: str, config: pytest.Config) -> bool:
    if config.option.pyargs and arg == PACKAGE:
        return True
    path = Path(arg) if Path(arg).is_absolute() else config.invocation_params.dir / arg
    return "::" not in arg and path.resolve() == checks_dir()


def loosened(config: pytest.Config) -> list[str]:
    """Thresholds set looser than the published defaults."""
    found = []
    for rule in rules()["thresholds"]:
        value = config.getoption(rule["option"].replace("-", "_"))
        if value is None:  # not given: the default applies (the load rate's is the provider's, see below)
            continue
        looser = value > rule["default"] if rule["looser"] == "above" else value < rule["default"]
        if looser:
            found.append(f"--{rule['option']}={value:g} is looser than the published {rule['default']:g}")
    return found


def refusals(config: pytest.Config) -> list[str]:
    problems = [f"{what} narrows the selection" for what in narrowing(config)]
    problems += loosened(config)
    missing = [
        f"--kserve-implementation-{f}"
        for f in rules()["implementation"]
        if not config.getoption(f"kserve_implementation_{f}", "")
    ]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    report_dir = Path(config.getoption("kserve_report_dir"))
    if report_dir.is_dir() and any(report_dir.iterdir()):
        problems.append(f"--kserve-report-dir={report_dir} is not empty: a bundle must hold this run's files only")
    return [f"--kserve-certification: {p}" for p in problems]


def rehearsal_reason(cluster: str) -> str | None:
    """Why a certification run on ``cluster`` can only be a rehearsal; None where it can certify."""
    reasons: dict[str, str] = rules().get("rehearsal") or {}
    return reasons.get(cluster)


def mode_of(certification: bool, cluster: str) -> str:
    if not certification:
        return DEFAULT_MODE
    return REHEARSAL if rehearsal_reason(cluster) else CERTIFICATION


def configure(config: pytest.Config, certification: bool, cluster: str) -> None:
    """Refuse a certification run that would not certify anything; record the mode either way."""
    if certification:
        problems = refusals(config)
        if problems:
            raise pytest.UsageError(*(f"kserve-conformance: {p}" for p in problems))
    config.stash[MODE_KEY] = mode_of(certification, cluster)
    config.stash[SELECTION_KEY] = {"narrowedBy": narrowing(config), "deselected": 0}
    if certification:
        implementation = {f: config.getoption(f"kserve_implementation_{f}") for f in rules()["implementation"]}
        config.pluginmanager.register(
            CertificationRun(config, Path(config.getoption("kserve_report_dir")), implementation),
            "kserve-conformance-certification",
        )


def record_deselected(config: pytest.Config, count: int) -> None:
    selection = config.stash.setdefault(SELECTION_KEY, {"narrowedBy": [], "deselected": 0})
    selection["deselected"] += count


def record_collected(config: pytest.Config, count: int) -> None:
    config.stash.setdefault(SELECTION_KEY, {"narrowedBy": [], "deselected": 0})["collected"] = count


def plugin_versions(config: pytest.Config) -> dict[str, str]:
    manager = getattr(config, "pluginmanager", None)
    return {dist.project_name: dist.version for _, dist in manager.list_plugin_distinfo()} if manager else {}


def program() -> list[str]:
    """How pytest was started: ``pytest``, ``kserve-conformance run`` (via ``python -m pytest``), ..."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("pytest")
    return ["python", "-m", argv0.parent.name] if argv0.name == "__main__.py" else [argv0.name]


def cluster_of(config: pytest.Config) -> str:
    try:
        return str(config.getoption("kserve_cluster"))
    except (ValueError, AttributeError):  # the report's unit tests' stand-in config
        return ""


def report_fields(config: pytest.Config) -> dict[str, Any]:
    """What ``ConformanceReport.document()`` adds about the run itself."""
    params = getattr(config, "invocation_params", None)  # absent in the report's unit tests' stand-in
    return {
        "mode": config.stash.get(MODE_KEY, DEFAULT_MODE),
        **(
            {"rehearsal": rehearsal_reason(cluster_of(config)) or ""}
            if config.stash.get(MODE_KEY, DEFAULT_MODE) == REHEARSAL
            else {}
        ),
        "command": shlex.join([*program(), *(params.args if params else ())]),
        "selection": config.stash.get(SELECTION_KEY, {}),
        "environment": {
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "platform": platform.platform(),
            "suite": __version__,
            "pytest": pytest.__version__,
            "plugins": dict(sorted(plugin_versions(config).items())),
        },
    }


class CertificationRun:
    """Registered with ``--kserve-certification`` only: keeps the terminal log, writes the bundle at the end."""

    def __init__(self, config: pytest.Config, report_dir: Path, implementation: dict[str, str]) -> None:
        self.config, self.report_dir, self.implementation = config, report_dir, implementation
        self.log: IO[str] | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Before the terminal reporter's header, so the log has the whole run."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self.log = (self.report_dir / bundle.LOG).open("w", encoding="utf-8")
        reporter._tw._file = bundle.Tee(reporter._tw._file, self.log)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After the last line of the terminal summary: the log is complete."""
        if self.log is None:
            return
        self.log.close()
        if not (self.report_dir / bundle.REPORT).is_file():
            return  # no check ran (e.g. a setup failure): nothing to submit
        ai_conformance.write(self.report_dir)  # before the bundle, so its manifest lists it
        extra = {}
        xmlpath = getattr(config.option, "xmlpath", None)
        if xmlpath and Path(xmlpath).resolve().parent != self.report_dir.resolve():
            extra[bundle.JUNIT] = Path(xmlpath)
        allure_dir = getattr(config.option, "allure_report_dir", None)
        if allure_dir and self.report_dir.resolve() not in Path(allure_dir).resolve().parents:
            extra["allure-results"] = Path(allure_dir)
        rehearsal = config.stash.get(MODE_KEY, DEFAULT_MODE) == REHEARSAL
        path = bundle.write(self.report_dir, self.implementation, extra, rehearsal=rehearsal)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            what = "rehearsal bundle (not a submission)" if rehearsal else "submission bundle"
            reporter._tw.line(f"kserve-conformance: {what} {path} (check it with: kserve-conformance verify {path})")
