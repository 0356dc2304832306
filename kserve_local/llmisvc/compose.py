"""The effective spec of an LLMInferenceService: well-known presets, then ``baseRefs``, then its own spec.

As KServe documents it (llmisvc-config-composition.md): the controller injects well-known configs
by the spec's shape (single-node: ``kserve-config-llm-template``; ``router.scheduler`` without an
external pool: ``kserve-config-llm-scheduler``; ``router.route`` without refs:
``kserve-config-llm-router-route``; multi-node and prefill/decode have theirs), then merges each
``baseRefs`` entry in order and the service's spec last, each step a strategic merge in which a
zero value (``""``, ``0``, ``false``, null) never overwrites and containers (and other named
items) merge by name. A config is looked up in the service's namespace first, then in KServe's
(``kserve``); one found in neither is ``ConfigNotFound``. Templates in the configs
(``{{ .ObjectMeta.Name }}``, ``{{ ChildName .ObjectMeta.Name `-suffix` }}``,
``{{ .Spec.Model.Name }}``, ``{{ .GlobalConfig.X }}``, ``{{ if .GlobalConfig.X }}...{{ end }}`` with
an empty value false, as Go's) are rendered for the service.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
SYSTEM_NAMESPACE = "kserve"
TEMPLATE = "kserve-config-llm-template"
WORKER_DP = "kserve-config-llm-worker-data-parallel"
PREFILL_TEMPLATE, DECODE_TEMPLATE = "kserve-config-llm-prefill-template", "kserve-config-llm-decode-template"
PREFILL_WORKER_DP = "kserve-config-llm-prefill-worker-data-parallel"
DECODE_WORKER_DP = "kserve-config-llm-decode-worker-data-parallel"
SCHEDULER, ROUTER_ROUTE = "kserve-config-llm-scheduler", "kserve-config-llm-router-route"
ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
CHILD_NAME = re.compile(r"ChildName\s+(\S+)\s+`([^`]*)`")
# {{ if .Chain }}...{{ else }}...{{ end }}, not nested; applied after the {{- and -}} trims.
CONDITIONAL = re.compile(r"\{\{\s*if\s+(\.\S+)\s*\}\}(.*?)(?:\{\{\s*else\s*\}\}(.*?))?\{\{\s*end\s*\}\}", re.S)
TRIM_LEFT, TRIM_RIGHT = re.compile(r"\s*\{\{-\s"), re.compile(r"\s-\}\}\s*")
MAX_NAME = 63  # a DNS label: what kmeta.ChildName keeps a child's name within


class ConfigNotFound(LookupError):
    """A referenced LLMInferenceServiceConfig exists in neither namespace searched."""


class CombineError(ValueError):
    """The configs cannot be merged or rendered (KServe's CombineBaseError)."""


@dataclass(frozen=True)
class Composed:
    spec: Obj
    applied: list[Obj]  # status.appliedConfigs: name, namespace, source (Preset | UserRef)


def child_name(parent: str, suffix: str) -> str:
    """``parent + suffix``, kept within 63 characters with a hash of the whole when too long (as
    Knative's kmeta.ChildName keeps children's names unique and valid)."""
    name = parent + suffix
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.md5(name.encode()).hexdigest()  # a name, not a secret
    return f"{parent[: MAX_NAME - len(digest) - len(suffix)]}{digest}{suffix}"


def well_known(spec: Obj) -> list[str]:
    """The presets the controller injects for this spec's shape, in merge order."""
    worker, prefill = spec.get("worker") is not None, spec.get("prefill") is not None
    prefill_worker = prefill and (spec.get("prefill") or {}).get("worker") is not None
    if prefill:
        names = (
            [PREFILL_WORKER_DP, DECODE_WORKER_DP] if prefill_worker or worker else [PREFILL_TEMPLATE, DECODE_TEMPLATE]
        )
    else:
        names = [WORKER_DP] if worker else [TEMPLATE]
    router = spec.get("router") or {}
    scheduler = router.get("scheduler")
    if scheduler is not None and not ((scheduler.get("pool") or {}).get("ref")):
        names.append(SCHEDULER)
    route = router.get("route")
    if route is not None and not ((route.get("http") or {}).get("refs")):
        names.append(ROUTER_ROUTE)
    return names


def is_zero(value: Any) -> bool:
    return value is None or value == "" or value is False or (isinstance(value, (int, float)) and value == 0)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: maps merge key by key, named lists item by item; a zero value never
    replaces a value the base has (it is kept where the base has none)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = copy.deepcopy(base)
        for key, value in override.items():
            if is_zero(value) and key in out:
                continue
            out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(override, list) and _named(base) and _named(override):
        out_list = copy.deepcopy(base)
        index = {item["name"]: i for i, item in enumerate(out_list)}
        for item in override:
            if item["name"] in index:
                out_list[index[item["name"]]] = merge(out_list[index[item["name"]]], item)
            else:
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(override)


def render(value: Any, context: dict[str, Any]) -> Any:
    """Every string in ``value`` with its template actions evaluated for ``context``."""
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if isinstance(value, str) and "{{" in value:
        text = TRIM_RIGHT.sub(" }}", TRIM_LEFT.sub("{{ ", value))
        text = CONDITIONAL.sub(lambda m: m.group(2) if _lookup(m.group(1), context) else m.group(3) or "", text)
        return ACTION.sub(lambda m: _evaluate(m.group(1), context), text)
    return value


def _lookup(chain: str, context: dict[str, Any]) -> str:
    node: Any = context
    for part in chain.lstrip(".").split("."):
        if not isinstance(node, dict) or part not in node:
            raise CombineError(f"template: can't evaluate field {part} in {chain}")
        node = node[part]
    return "" if node is None else str(node)


def _evaluate(action: str, context: dict[str, Any]) -> str:
    called = CHILD_NAME.fullmatch(action)
    if called:
        return child_name(_lookup(called.group(1), context), called.group(2))
    if action.startswith("."):
        return _lookup(action, context)
    raise CombineError(f"template: the local target does not render {{{{ {action} }}}}")


def context(llmisvc: Obj, global_config: dict[str, str]) -> dict[str, Any]:
    """What the presets' templates see: the service's metadata and spec (the model's name
    defaulting to the service's), and KServe's global config."""
    meta = llmisvc["metadata"]
    spec = llmisvc.get("spec") or {}
    model = {
        "Name": (spec.get("model") or {}).get("name") or meta["name"],
        "URI": (spec.get("model") or {}).get("uri", ""),
    }
    return {
        "ObjectMeta": {"Name": meta["name"], "Namespace": meta["namespace"]},
        "Spec": {"Model": model},
        "GlobalConfig": global_config,
    }


def _lookup_config(find: Callable[[str, str], Obj | None], namespace: str, name: str) -> tuple[Obj, str]:
    for ns in dict.fromkeys((namespace, SYSTEM_NAMESPACE)):
        config = find(ns, name)
        if config is not None:
            return config, ns
    raise ConfigNotFound(
        f"LLMInferenceServiceConfig '{name}' not found in namespaces [{namespace}, {SYSTEM_NAMESPACE}]"
    )


def compose(llmisvc: Obj, find: Callable[[str, str], Obj | None], global_config: dict[str, str]) -> Composed:
    """The merged, rendered spec; ``find(namespace, name)`` reads an LLMInferenceServiceConfig.

    The shape that picks the well-known presets is the spec with its ``baseRefs`` merged over it,
    as KServe's controller resolves it first "so that we know what's Enabled": a ``router.route``
    or ``router.scheduler`` that only a baseRef sets still gets its preset. The model's name the
    templates see is that resolved spec's too.
    """
    namespace = llmisvc["metadata"]["namespace"]
    spec = llmisvc.get("spec") or {}
    user = [
        (ref.get("name", ""), *_lookup_config(find, namespace, ref.get("name", "")))
        for ref in spec.get("baseRefs") or []
    ]
    shape = spec
    for _, config, _ in user:
        shape = merge(shape, config.get("spec") or {})
    presets = [(name, *_lookup_config(find, namespace, name)) for name in well_known(shape)]
    merged: Obj = {}
    applied = []
    model_name = (shape.get("model") or {}).get("name")
    resolved = {**llmisvc, "spec": {**spec, "model": {**(spec.get("model") or {}), "name": model_name}}}
    ctx = context(resolved if model_name else llmisvc, global_config)
    for (name, config, ns), source in [*((p, "Preset") for p in presets), *((u, "UserRef") for u in user)]:
        merged = merge(merged, render(config.get("spec") or {}, ctx))
        applied.append({"name": name, "namespace": ns, "source": source})
    own = {k: v for k, v in spec.items() if k != "baseRefs"}
    return Composed(merge(merged, own), applied)
