"""``--cluster=local``: starts the embedded target for the session and stops it afterwards.

When the selected services include a generative one, the generative runtimes' venv (torch, vLLM,
KServe's OpenAI layer: minutes and gigabytes, once per machine) is built with
``python -m kserve_local.generative ensure``, its progress relayed, while the first checks run: it
starts with the target, at the lowest CPU priority (the checks' timing comes first), and the first
generative service waits for it before it is applied (``ClusterAccess.prepare_generative``), so
that its pod does not spend its start-up budget on the build and a failed build is one setup
error, not a service that never gets Ready. On a clean machine that takes the build (about two
minutes) out of README command 1's time. Runs without generative services never build it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kserve_conformance.errors import SetupError
from kserve_conformance.providers.base import ClusterAccess, LoadRate, api_client
from kserve_conformance.timeouts import DEFAULT

STARTUP_TIMEOUT_S = DEFAULT.local_startup_s
STOP_GRACE_S = DEFAULT.local_stop_grace_s
DISTRIBUTION = "kserve-conformance"
EXTRA = "local"
# The local extra's distributions whose import name is not their name with "_" for "-".
IMPORT_NAMES = {"scikit-learn": "sklearn"}


@dataclass
class LocalOptions:
    deployment_mode: str = "Knative"
    domain_template: str | None = None
    path_template: str | None = None
    ingress_domain: str | None = None
    crd: Path | None = None
    storage_uri_map: Sequence[str] = ()
    ingress_exposure: str = "LoadBalancer"
    faults: Sequence[str] = ()
    generative: bool = False  # a selected service runs a generative runtime: build its venv first
    prometheus: str | None = None  # the Prometheus binary; None: prometheus on PATH; "none": no monitoring

    def argv(self) -> list[str]:
        args = ["--deployment-mode", self.deployment_mode, "--ingress-exposure", self.ingress_exposure]
        for flag, value in (
            ("--domain-template", self.domain_template),
            ("--path-template", self.path_template),
            ("--ingress-domain", self.ingress_domain),
            ("--crd", self.crd),
            ("--prometheus", self.prometheus),
        ):
            if value:
                args += [flag, str(value)]
        for entry in self.storage_uri_map:
            args += ["--storage-uri-map", entry]
        for fault in self.faults:
            args += ["--fault", fault]
        return args


@dataclass
class LocalTargetProcess:
    """The target as a child process; usable on its own (the self-tests use it directly)."""

    options: LocalOptions = field(default_factory=LocalOptions)
    state_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    info: dict[str, str] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> dict[str, str]:
        if self.state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kserve-conformance-local-")
            self.state_dir = Path(self._tmp.name)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.state_dir / "target.log"
        cmd = [
            sys.executable,
            "-m",
            "kserve_local",
            "--state-dir",
            str(self.state_dir),
            "--parent-pid",
            str(os.getpid()),
            *(["--state-dir-is-temporary"] if self._tmp is not None else []),
            *self.options.argv(),
        ]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        info_path = self.state_dir / "target.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not info_path.exists():
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise SetupError(
                    f"the local target exited at start: {tail[0]}", f"see {log_path}; check --local-* options"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise SetupError(f"the local target did not start within {STARTUP_TIMEOUT_S:.0f}s", f"see {log_path}")
            time.sleep(0.05)
        self.info = json.loads(info_path.read_text())
        return self.info

    @property
    def kubeconfig(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / "kubeconfig"

    def stop(self) -> None:
        """SIGTERM lets the target stop its model servers; then SIGKILL whatever is left of its group.

        A Ctrl-C while it stops (a second one, or pytest-xdist stopping its workers) must not
        leave the target running or its state directory behind: the group is killed and the
        directory removed on the way out, whatever interrupted the wait. The group is killed even
        when the target exited by itself: a model server its shutdown missed (a vLLM engine
        process outliving its API server) is still in the group, and would otherwise be left
        running with no parent.
        """
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(STOP_GRACE_S)
        finally:
            if self.process is not None:
                # The group outlives its leader while a member lives, and its id is not reused meanwhile.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None


class LocalProvider:
    name = "local"
    # Measured (docs/load.md, "The default rate"): the target's one KServe ModelServer process costs 3.1 ms
    # of CPU per V2 infer on a 2-core machine, so it tops out near 320 requests/s; at 200/s its p99
    # was 7.2 ms. The tutorial's 500/s would judge this harness's capacity, not KServe.
    load_rate = LoadRate(
        200.0,
        "what the embedded local target holds on a 2-core machine (one model-server "
        "process, about 320 V2 requests/s at most; measured p99 7.2 ms at 200/s)",
    )

    def __init__(self, options: LocalOptions, say: Callable[[str], None] = lambda _: None) -> None:
        self.target = LocalTargetProcess(options)
        self.say = say
        self.build: GenerativeBuild | None = None

    def start(self) -> ClusterAccess:
        require_local_extra()
        build = GenerativeBuild(self.say) if self.target.options.generative else None
        self.build = build
        self.target.start()
        api = api_client(self.target.kubeconfig, None)
        pid = self.target.process.pid if self.target.process is not None else None
        access = ClusterAccess(api, self.target.kubeconfig, None, f"local target ({self.target.info['api']})", pid)
        return dataclasses.replace(access, prepare_generative=build.wait) if build is not None else access

    def stop(self) -> None:
        try:
            self.target.stop()
        finally:
            if self.build is not None:
                self.build.stop()


def local_extra_modules() -> dict[str, str]:
    """The ``local`` extra's distributions and the module each is imported as, from the installed metadata.

    Read from the distribution, not listed here, so that it never drifts from pyproject.toml. A
    checkout that runs without an install has no metadata: nothing to check, the target reports.
    """
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    modules = {}
    for line in requires:
        req = Requirement(line)
        # the extra's own entries: true with it, false without it (not a dependency of every install)
        if req.marker is not None and req.marker.evaluate({"extra": EXTRA}) and not req.marker.evaluate({"extra": ""}):
            name = canonicalize_name(req.name)
            modules[req.name] = IMPORT_NAMES.get(name, name.replace("-", "_"))
    return modules


def require_local_extra() -> None:
    """Name what the local target lacks before starting it, instead of relaying its ModuleNotFoundError.

    The target is a child process: a missing dependency surfaced as the last line of its log, and
    only once the process had died, not as the extra that provides it.
    """
    missing = [(dist, module) for dist, module in local_extra_modules().items() if not _importable(module)]
    if missing:
        names = ", ".join(f"'{dist}' (module {module})" for dist, module in missing)
        raise SetupError(
            f"the local target needs {names}, which {'is' if len(missing) == 1 else 'are'} not installed",
            f"pip install '{DISTRIBUTION}[{EXTRA}]'",
        )


def _importable(module: str) -> bool:
    """Found without importing it (a model server's package is slow to import and may parse sys.argv)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # already imported, without a spec
        return True


class GenerativeBuild:
    """The generative venv's build, in the background at the lowest CPU priority, its progress relayed.

    ``wait`` is the point a generative service needs it: it blocks until the build ends and raises
    the one-line SetupError a failed build deserves (it is the machine's trouble, not KServe's).
    """

    def __init__(self, say: Callable[[str], None]) -> None:
        say("generative services selected: making sure the generative runtimes' venv exists (in the background)")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kserve_local.generative", "ensure"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Lowest priority, set before the builder (an interpreter still importing) starts pip: its
        # children inherit it.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.process.pid, 19)
        self.lines: list[str] = []
        self.relay = threading.Thread(target=self._relay, args=(say,), name="generative-build", daemon=True)
        self.relay.start()

    def _relay(self, say: Callable[[str], None]) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # progress lines, as they come
            self.lines.append(line.rstrip())
            say(line.rstrip())

    def wait(self) -> None:
        self.relay.join()
        if self.process.wait() != 0:
            raise SetupError(
                f"the generative runtimes' venv could not be built: {(self.lines or ['(no output)'])[-1]}",
                "or deselect the generative services (--kserve-services without llm-*)",
            )

    def stop(self) -> None:
        """An interrupted run does not leave the build going (the next run starts it over: --clear)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
