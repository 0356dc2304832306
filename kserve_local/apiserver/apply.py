"""Server-side apply and field ownership (``managedFields``); the merging itself is :mod:`.merge`'s.

``kubectl apply --server-side`` depends on the server to merge: each field manager owns the
fields it applied, a manager that stops applying a field has it removed (unless someone else
owns it too), and changing a field another manager owns is a 409 conflict naming both, unless
forced. Ordinary writes (create, update, patch) take ownership of what they change, under the
``fieldManager`` the client names (or its User-Agent's first word, as kube-apiserver derives it).

Why our own code: structured-merge-diff exists only in Go. This follows its model at the level
kubectl shows it: field sets in the ``FieldsV1`` format (``f:`` fields, ``k:`` associative-list
items, ``v:`` set members, ``.`` an item itself), list semantics from the CRD schema
(``x-kubernetes-list-type``/``-map-keys``) or, for built-in kinds, ``data/list-types.yaml``
(:class:`kserve_local.apiserver.merge.ListTypes`).
Not modelled: apply configurations per API version (one version is served per kind here),
ownership of the intermediate map fields themselves, and the ``kubectl-client-side-apply``
upgrade path.
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Iterable
from typing import Any

import yaml

from kserve_local.apiserver.merge import ListTypes, Rules, item_key, merge
from kserve_local.apiserver.store import ApiError, Obj, Resource

APPLY = "application/apply-patch+yaml"
STRATEGIC = "application/strategic-merge-patch+json"
FieldPath = tuple[str, ...]
UNTRACKED_META = ("labels", "annotations", "finalizers", "ownerReferences")
_MISSING = object()
_PRESENT = object()


def _leaves(value: Any, lt: ListTypes, spath: tuple[str, ...]) -> set[FieldPath]:
    if isinstance(value, dict) and value:
        return {(f"f:{k}", *rest) for k, v in value.items() for rest in _leaves(v, lt, (*spath, k))}
    if isinstance(value, list) and value:
        kind, keys = lt.of(spath)
        if kind == "map" and all(isinstance(i, dict) for i in value):
            out: set[FieldPath] = set()
            for item in value:
                key = item_key(item, keys)
                out.add((key, "."))
                out |= {(key, f"f:{k}", *rest) for k, v in item.items() for rest in _leaves(v, lt, (*spath, "[]", k))}
            return out
        if kind == "set":
            return {(f"v:{json.dumps(x, separators=(',', ':'))}",) for x in value}
    return {()}


def tracked(obj: Obj | None, subresource: str | None, status_separate: bool) -> Obj:
    """The part of an object field ownership is about (not identity, not server-set metadata)."""
    if not obj:
        return {}
    if subresource == "status":
        return {"status": obj.get("status")} if obj.get("status") is not None else {}
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k in UNTRACKED_META}
    out = {
        k: v
        for k, v in obj.items()
        if k not in ("apiVersion", "kind", "metadata") and not (status_separate and k == "status")
    }
    return {**({"metadata": meta} if meta else {}), **out}


def field_set(obj: Obj, lt: ListTypes) -> set[FieldPath]:
    return {p for p in _leaves(obj, lt, ()) if p} if obj else set()


def value_at(obj: Any, path: FieldPath) -> Any:
    node = obj
    for part in path:
        if part == ".":
            return _PRESENT if node is not _MISSING else _MISSING
        if part.startswith("f:"):
            node = node.get(part[2:], _MISSING) if isinstance(node, dict) else _MISSING
        elif part.startswith("k:"):
            wanted = json.loads(part[2:])
            node = (
                next(
                    (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())), _MISSING
                )
                if isinstance(node, list)
                else _MISSING
            )
        elif part.startswith("v:"):
            return _PRESENT if isinstance(node, list) and json.loads(part[2:]) in node else _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def remove_path(obj: Any, path: FieldPath) -> None:
    """Delete one owned field (or list item, or set member) from ``obj`` if it is there."""
    if path[-1] == ".":
        path = path[:-1]
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        wanted = json.loads(last[2:])
        parent[:] = [i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items()))]
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        parent[:] = [i for i in parent if i != value]


def nest(paths: Iterable[FieldPath]) -> Obj:
    """Flat field paths as the nested ``fieldsV1`` object managedFields carry."""
    root: Obj = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(part, {})
    return root


def flatten(fields: Obj, prefix: FieldPath = ()) -> set[FieldPath]:
    out: set[FieldPath] = set()
    for key, child in fields.items():
        if isinstance(child, dict) and child:
            out |= flatten(child, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _path_text(path: FieldPath) -> str:
    text = ""
    for part in path:
        if part.startswith("f:"):
            text += f".{part[2:]}"
        elif part.startswith("k:"):
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(part[2:]).items()) + "]"
        elif part.startswith("v:"):
            text += f"[={part[2:]}]"
    return text


def _entries(obj: Obj | None) -> list[tuple[Obj, set[FieldPath]]]:
    managed = (obj or {}).get("metadata", {}).get("managedFields") or []
    return [(e, flatten(e.get("fieldsV1") or {})) for e in managed if isinstance(e, dict)]


def _entry(manager: str, operation: str, api_version: str, paths: set[FieldPath], subresource: str | None) -> Obj:
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": _now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": nest(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def record_update(
    old: Obj | None, new: Obj, manager: str, resource: Resource, lt: ListTypes, subresource: str | None = None
) -> list[Obj]:
    """managedFields after a create/update/patch by ``manager``: it owns what it changed."""
    separate = resource.status_subresource
    before, after = tracked(old, subresource, separate), tracked(new, subresource, separate)
    old_set, new_set = field_set(before, lt), field_set(after, lt)
    changed = {p for p in new_set if p not in old_set or value_at(after, p) != value_at(before, p)}
    removed = old_set - new_set
    out: list[Obj] = []
    mine: set[FieldPath] | None = None
    for entry, paths in _entries(old):
        same_scope = entry.get("subresource") == subresource
        if same_scope and entry.get("manager") == manager and entry.get("operation") == "Update":
            mine = paths
            continue
        if same_scope:
            paths = paths - changed - removed
        if paths:
            out.append({**entry, "fieldsV1": nest(paths)})
    owned = ((mine or set()) | changed) - removed
    if owned:
        out.append(_entry(manager, "Update", resource.api_version, owned, subresource))
    return out


def server_side_apply(
    live: Obj | None,
    applied: Obj,
    manager: str,
    force: bool,
    resource: Resource,
    lt: ListTypes,
    subresource: str | None = None,
) -> Obj:
    """The object after ``manager`` applies ``applied``; 409 on conflicts unless ``force``."""
    separate = resource.status_subresource
    config = tracked(applied, subresource, separate)
    current = tracked(live, subresource, separate)
    mine = field_set(config, lt)
    others: list[tuple[Obj, set[FieldPath]]] = []
    previous: set[FieldPath] = set()
    conflicts: dict[str, set[FieldPath]] = {}
    for entry, paths in _entries(live):
        if entry.get("subresource") != subresource:
            others.append((entry, paths))
            continue
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            previous = paths
            continue
        clash = {p for p in mine & paths if value_at(config, p) != value_at(current, p)}
        if clash:
            conflicts.setdefault(entry["manager"], set()).update(clash)
        others.append((entry, paths))
    if conflicts and not force:
        count = sum(len(c) for c in conflicts.values())
        lines = [f'conflict with "{m}": {_path_text(p)}' for m, ps in sorted(conflicts.items()) for p in sorted(ps)]
        error = ApiError(
            409, "Conflict", f"Apply failed with {count} conflict{'s' if count > 1 else ''}: " + "; ".join(lines)
        )
        error.causes = [
            {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": _path_text(p)}
            for m, ps in sorted(conflicts.items())
            for p in sorted(ps)
        ]
        raise error
    kept: list[Obj] = []
    still_owned: set[FieldPath] = set()
    for entry, paths in others:
        if entry.get("subresource") == subresource:
            paths = paths - conflicts.get(entry.get("manager", ""), set())  # forced: the clashing fields move
            still_owned |= paths
        if paths:
            kept.append({**entry, "fieldsV1": nest(paths)})
    result = copy.deepcopy(live) if live else {}
    for path in sorted(previous - mine - still_owned, key=len, reverse=True):  # dropped by this manager
        remove_path(result, path)
    merged: Obj = merge(result, config, Rules.apply(lt))
    merged.setdefault("metadata", {})["managedFields"] = [
        *kept,
        _entry(manager, "Apply", resource.api_version, mine, subresource),
    ]
    return merged


def parse_apply_body(body: bytes) -> Obj:
    try:
        doc = yaml.safe_load(body or b"{}")
    except yaml.YAMLError as err:
        raise ApiError(400, "BadRequest", f"error decoding YAML: {err}") from err
    if not isinstance(doc, dict):
        raise ApiError(400, "BadRequest", "the apply configuration must be an object")
    return doc


def default_manager(user_agent: str) -> str:
    """kube-apiserver's default field manager: the User-Agent up to its first '/'."""
    return (user_agent.split("/", 1)[0] or "unknown")[:128]
