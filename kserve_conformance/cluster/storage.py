"""``--kserve-storage-uri-map FROM=TO``: model mirrors for clusters that cannot reach the tutorial's buckets.

The rewritten URI is what the suite applies, so an air-gapped install serves the tutorial from
its own S3/MinIO, PVC or HTTP mirror. (The local target resolves storage URIs by its own code;
this is only the suite's rewrite of what it sends.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class StorageMapError(ValueError):
    """A ``--kserve-storage-uri-map`` entry that is not FROM=TO."""


@dataclass(frozen=True)
class StorageMap:
    mirrors: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> StorageMap:
        mirrors = []
        for entry in entries:
            source, sep, target = entry.partition("=")
            if not sep or not source or not target:
                raise StorageMapError(
                    f"--kserve-storage-uri-map {entry!r}: expected FROM=TO, e.g. "
                    "gs://kfserving-examples/models=s3://mirror/models"
                )
            mirrors.append((source.rstrip("/"), target.rstrip("/")))
        return cls(tuple(mirrors))

    def rewrite(self, uri: str) -> str:
        """The mirrored URI: the longest matching prefix wins, on a path boundary (``gs://a/b`` is not ``gs://a/bc``)."""
        matching = [m for m in self.mirrors if uri == m[0] or uri.startswith(m[0] + "/")]
        if not matching:
            return uri
        source, target = max(matching, key=lambda m: len(m[0]))
        return target + uri[len(source) :]
