"""storageUri mirrors: ``--storage-uri-map FROM=TO`` rewrites a URI prefix.

On a real cluster the rewritten URI is what gets applied, so an air-gapped install can serve the
tutorial from its own S3/MinIO, PVC or HTTP mirror. The local target has no network at all, so
there the rewritten URI must be a local directory (or ``file://``) holding the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class StorageError(ValueError):
    """A storageUri that cannot be served."""


@dataclass(frozen=True)
class StorageMap:
    mirrors: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> StorageMap:
        mirrors = []
        for entry in entries:
            source, sep, target = entry.partition("=")
            if not sep or not source or not target:
                raise StorageError(
                    f"--storage-uri-map {entry!r}: expected FROM=TO, e.g. "
                    "gs://kfserving-examples/models=s3://mirror/models"
                )
            mirrors.append((source.rstrip("/"), target.rstrip("/")))
        return cls(tuple(mirrors))

    def with_defaults(self, defaults: Iterable[tuple[str, str]]) -> StorageMap:
        """User mirrors win over defaults with the same prefix."""
        return StorageMap(self.mirrors + tuple(d for d in defaults if d[0] not in dict(self.mirrors)))

    def rewrite(self, uri: str) -> str:
        """The mirrored URI: the longest matching prefix wins, on a path boundary."""
        best = max(
            (m for m in self.mirrors if uri == m[0] or uri.startswith(m[0] + "/")),
            key=lambda m: len(m[0]),
            default=None,
        )
        return uri if best is None else best[1] + uri[len(best[0]) :]

    def resolve(self, uri: str) -> Path:
        """A local directory for the local target's model servers."""
        if not uri:
            raise StorageError("the predictor has no storageUri")
        mapped = self.rewrite(uri)
        local = mapped.removeprefix("file://")
        if "://" in local:
            raise StorageError(
                f"cannot fetch {uri}: the local target has no network; map it to a local "
                f"directory with --storage-uri-map {uri}=/path/to/model"
            )
        path = Path(local)
        if not path.exists():
            raise StorageError(f"storageUri {uri} maps to {path}, which does not exist")
        return path if path.is_dir() else path.parent
