"""``--cluster=local``: starts the embedded target for the session and stops it afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kserve_conformance.errors import SetupError
from kserve_conformance.providers.base import ClusterAccess, api_client
from kserve_conformance.timeouts import DEFAULT

STARTUP_TIMEOUT_S = DEFAULT.local_startup_s
STOP_GRACE_S = DEFAULT.local_stop_grace_s


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

    def argv(self) -> list[str]:
        args = ["--deployment-mode", self.deployment_mode, "--ingress-exposure", self.ingress_exposure]
        for flag, value in (("--domain-template", self.domain_template), ("--path-template", self.path_template),
                            ("--ingress-domain", self.ingress_domain), ("--crd", self.crd)):
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
        cmd = [sys.executable, "-m", "kserve_conformance.local", "--state-dir", str(self.state_dir),
               "--parent-pid", str(os.getpid()), *self.options.argv()]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        info_path = self.state_dir / "target.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not info_path.exists():
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise SetupError(f"the local target exited at start: {tail[0]}",
                                 f"see {log_path}; check --local-* options")
            if time.monotonic() > deadline:
                self.stop()
                raise SetupError(f"the local target did not start within {STARTUP_TIMEOUT_S:.0f}s",
                                 f"see {log_path}")
            time.sleep(0.05)
        self.info = json.loads(info_path.read_text())
        return self.info

    @property
    def kubeconfig(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / "kubeconfig"

    def stop(self) -> None:
        """SIGTERM lets the target stop its model servers; SIGKILL the whole group if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class LocalProvider:
    name = "local"

    def __init__(self, options: LocalOptions) -> None:
        self.target = LocalTargetProcess(options)

    def start(self) -> ClusterAccess:
        self.target.start()
        api = api_client(self.target.kubeconfig, None)
        return ClusterAccess(api, self.target.kubeconfig, None, f"local target ({self.target.info['api']})")

    def stop(self) -> None:
        self.target.stop()
