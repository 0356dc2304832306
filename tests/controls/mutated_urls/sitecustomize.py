"""Plants a bug in the suite's own URL rendering, in every Python process started with this folder first on
PYTHONPATH (``sitecustomize`` runs at interpreter start): the pytest run and everything it starts.

The suite's Go-template renderer then gives ``{{ .Name }}`` the namespace and ``{{ .Namespace }}``
the name, the kind of slip a refactor of ``kserve_conformance.cluster.urls`` could make. It is a
bug in the source as far as every process is concerned, so a target that computed URLs with the
suite's code would write the same wrong URL and the check would pass; the local target computes
them with its own code, so StatusURL fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kserve_conformance.cluster import urls

_render = urls.render


def swapped_render(template: str, values: Mapping[str, Any]) -> str:
    swapped = {**values, "Name": values.get("Namespace"), "Namespace": values.get("Name")}
    return _render(template, swapped)


urls.render = swapped_render
