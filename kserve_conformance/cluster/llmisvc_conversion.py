"""LLMInferenceService read through v1alpha1 and v1alpha2: what the two reads must share, and what a
v1alpha1 round trip must keep. Pure functions of the objects, so the self-tests hold them to cases.

KServe serves both versions and stores v1alpha2; its webhook converts. Which fields only one
version's schema has is data (``conformance/data/llmisvc.yaml``, ``conversion``); every other field
is in both, and both reads must give it the same value. A round trip (read through v1alpha1,
written back unchanged) must keep every field the v1alpha2 object had: Kubernetes requires
conversions to be lossless, and KServe's own conversion e2e checks that labels, annotations and
the spec survive one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kserve_conformance.cluster.llmisvc_status import CONTRACT

RULES: dict[str, list[str]] = CONTRACT["conversion"]
MISSING = object()  # a leaf one read has and the other lacks


def leaves(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf as (path, value); list items as ``[i]``, an empty object or list as a leaf."""
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list) and obj:
        for i, value in enumerate(obj):
            yield from leaves(value, f"{path}[{i}]")
    else:
        yield path, obj


def schema_path(path: str) -> str:
    """``status.addresses[0].url`` as the schema names it: ``status.addresses[].url``."""
    out, depth = [], 0
    for char in path:
        if char == "[":
            depth += 1
            out.append("[]")
        elif char == "]":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def under(path: str, prefixes: list[str]) -> bool:
    general = schema_path(path)
    return any(general == p or general.startswith((f"{p}.", f"{p}[")) for p in prefixes)


def shared(obj: Any, version: str) -> dict[str, Any]:
    """The leaves of ``obj`` (read in ``version``) that both versions have, ignored ones left out."""
    only = RULES[f"{version}_only"]
    return {p: v for p, v in leaves(obj) if not under(p, only) and not under(p, RULES["ignored"])}


def show(value: Any) -> str:
    return "nothing" if value is MISSING else repr(value)


def disagreements(v1alpha1: Any, v1alpha2: Any) -> list[str]:
    """Each field both versions have that the two reads give different values, with both."""
    one, two = shared(v1alpha1, "v1alpha1"), shared(v1alpha2, "v1alpha2")
    return [
        f"{path}: v1alpha2 has {show(two.get(path, MISSING))}, v1alpha1 has {show(one.get(path, MISSING))}"
        for path in sorted(set(one) | set(two))
        if one.get(path, MISSING) != two.get(path, MISSING)
    ]


def lost(before: Any, after: Any) -> list[str]:
    """Each field of ``before`` (v1alpha2) that ``after`` (v1alpha2, after the round trip) lacks or changed."""
    now = dict(leaves(after))
    return [
        f"{path} was {value!r}, now {show(now.get(path, MISSING))}"
        for path, value in leaves(before)
        if not under(path, RULES["ignored"]) and now.get(path, MISSING) != value
    ]
