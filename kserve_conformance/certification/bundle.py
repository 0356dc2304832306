"""The submission bundle: one ``.tar.gz`` with everything a certification run produced.

Like the results tarball ``sonobuoy retrieve`` hands over, or a k8s-conformance PR's
``PRODUCT.yaml`` + ``e2e.log`` + ``junit_01.xml``: the report, the JUnit XML it can be checked
against, the Allure results, load reports, diagnostics and the terminal log, plus
``manifest.json`` with the SHA-256 of every file. The manifest makes accidental or naive edits
visible; the verifier (``kserve_conformance.certification.verify``) also cross-checks the report against the
JUnit file, because anyone can recompute a manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
from pathlib import Path
from typing import IO, Any

from kserve_conformance import __version__

MANIFEST = "manifest.json"
REPORT, JUNIT, LOG = "conformance-report.yaml", "junit.xml", "terminal.log"
MANIFEST_API = "bundle.kserve-conformance.io/v1alpha1"


def bundle_name(implementation: dict[str, str]) -> str:
    """``kserve-conformance-<project>-<version>``: what the reviewer sees first."""
    slug = "-".join(implementation.get(k) or "unknown" for k in ("project", "version"))
    return "kserve-conformance-" + re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip("-")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def collect(report_dir: Path, extra: dict[str, Path]) -> dict[str, Path]:
    """Bundle path → file on disk: the report directory's files, and JUnit/Allure if kept elsewhere."""
    files = {
        p.relative_to(report_dir).as_posix(): p
        for p in sorted(report_dir.rglob("*"))
        if p.is_file() and not p.name.endswith(".tar.gz")
    }
    for name, path in extra.items():
        if path.is_file():
            files.setdefault(name, path)
        elif path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file():
                    files.setdefault(f"{name}/{p.relative_to(path).as_posix()}", p)
    files.pop(MANIFEST, None)
    return files


def write(
    report_dir: Path, implementation: dict[str, str], extra: dict[str, Path] | None = None, rehearsal: bool = False
) -> Path:
    """Write ``<report_dir>/<bundle_name>.tar.gz`` (``-rehearsal`` before the suffix for a rehearsal)."""
    name = bundle_name(implementation) + ("-rehearsal" if rehearsal else "")
    files = collect(report_dir, extra or {})
    contents = {rel: path.read_bytes() for rel, path in files.items()}
    manifest = {
        "apiVersion": MANIFEST_API,
        "suiteVersion": __version__,
        "implementation": implementation,
        "files": {rel: sha256(data) for rel, data in contents.items()},
    }
    contents[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
    out = report_dir / f"{name}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for rel, data in sorted(contents.items()):
            _add(tar, f"{name}/{rel}", data)
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def read(path: Path) -> dict[str, bytes]:
    """A bundle's files by their path inside it (top directory removed); nothing touches the disk."""
    out: dict[str, bytes] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            f = tar.extractfile(member)
            assert f is not None
            out[member.name.partition("/")[2] or member.name] = f.read()
    return out


def write_files(path: Path, files: dict[str, bytes], top: str | None = None) -> None:
    """Write a bundle from in-memory files as they are (the negative controls tamper with copies)."""
    top = top or path.name.removesuffix(".tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for rel, data in sorted(files.items()):
            _add(tar, f"{top}/{rel}", data)


class Tee:
    """The terminal writer's file, also written to the run's terminal log."""

    def __init__(self, terminal: IO[str], log: IO[str]) -> None:
        self.terminal, self.log = terminal, log

    def write(self, text: str) -> int:
        if not self.log.closed:
            self.log.write(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        if not self.log.closed:
            self.log.flush()
        self.terminal.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno: the terminal's
        return getattr(self.terminal, name)
