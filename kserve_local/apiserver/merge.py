"""The one merge of the API server: JSON merge patch, strategic merge patch and server-side apply.

All three lay a partial object over a live one, and differ in three rules only:

* RFC 7386 merge patch (custom resources, ``kubectl patch --type merge``): maps merge, ``null``
  removes a field, every list is replaced whole.
* Strategic merge patch (built-in kinds): as merge patch, but lists merge by their schema (a
  *map* list by its keys, a *set* by value; ``atomic`` ones are replaced), in the live object's
  order with new items appended, and the ``$patch``/``$retainKeys``/``$deleteFromPrimitiveList``
  directives apply.
* Server-side apply: the applied configuration's lists lead (its items in its order, then the live
  items it does not name), and ``null`` is a value, not a removal (removing fields is done by
  ownership, in :mod:`kserve_local.apiserver.apply`).

So there is one recursive :func:`merge`, and :class:`Rules` says which of the three it is. List
semantics come from the CRD schema (``x-kubernetes-list-type``/``-map-keys``) or, for built-in
kinds, ``data/list-types.yaml`` (:class:`ListTypes`).
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kserve_local.apiserver.store import Obj, Resource

LIST_TYPES = Path(__file__).parent / "data" / "list-types.yaml"
SPath = tuple[str, ...]  # a schema path: field names, "[]" for a list's items


@functools.cache
def _builtin_list_types() -> dict[str, dict[str, dict[str, Any]]]:
    doc: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(LIST_TYPES.read_text())
    return doc


class ListTypes:
    """Whether the list at a path merges as a map (by keys), as a set, or is atomic."""

    def __init__(self, resource: Resource, schema: Obj | None) -> None:
        data = _builtin_list_types()
        self.paths = {**data.get("*", {}), **(data.get(resource.key, {}) if schema is None else {})}
        self.schema = schema

    def of(self, spath: SPath) -> tuple[str, list[str]]:
        dotted = ".".join(spath).replace(".[]", "[]")
        if dotted in self.paths:
            entry = self.paths[dotted]
            return str(entry["type"]), list(entry.get("keys", []))
        node: Any = self.schema or {}
        for part in spath:
            if not isinstance(node, dict):
                return "atomic", []
            if part == "[]":
                node = node.get("items", {})
            else:
                extra = node.get("additionalProperties")
                node = node.get("properties", {}).get(part, extra if isinstance(extra, dict) else {})
        if isinstance(node, dict) and node.get("x-kubernetes-list-type") in ("map", "set"):
            return str(node["x-kubernetes-list-type"]), list(node.get("x-kubernetes-list-map-keys", []))
        return "atomic", []


def item_key(item: Any, keys: list[str]) -> str:
    """A map-list item's identity, in managedFields' ``k:{...}`` form."""
    fields = {k: item.get(k) for k in keys if isinstance(item, dict) and k in item}
    return "k:" + json.dumps(fields, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class Rules:
    """Which merge: how lists merge, whether ``null`` removes, whether directives apply, whose order leads."""

    lists: ListTypes | None = None  # None: every list is atomic (RFC 7386)
    null_removes: bool = True
    directives: bool = False  # strategic merge patch's $patch, $retainKeys, $deleteFromPrimitiveList
    applied_leads: bool = False  # server-side apply: the applied list's order, then the live leftovers

    @classmethod
    def strategic(cls, lists: ListTypes) -> Rules:
        return cls(lists=lists, directives=True)

    @classmethod
    def apply(cls, lists: ListTypes) -> Rules:
        return cls(lists=lists, null_removes=False, applied_leads=True)


JSON_MERGE_PATCH = Rules()


def merge(live: Any, patch: Any, rules: Rules, spath: SPath = ()) -> Any:
    """``patch`` laid over ``live`` by ``rules``; neither is modified."""
    if isinstance(patch, dict):
        return _merge_map(live, patch, rules, spath)
    if isinstance(patch, list) and rules.lists is not None:
        kind, keys = rules.lists.of(spath)
        current = live if isinstance(live, list) else []
        if kind == "map":
            return _merge_keyed(current, patch, keys, rules, spath)
        if kind == "set":
            if rules.applied_leads:
                return copy.deepcopy(patch) + [x for x in current if x not in patch]
            return current + [x for x in patch if x not in current]
    return copy.deepcopy(patch)


def _merge_map(live: Any, patch: dict[str, Any], rules: Rules, spath: SPath) -> dict[str, Any]:
    if rules.directives and patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(live) if isinstance(live, dict) else {}
    for key, value in patch.items():
        if rules.directives:
            if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
                continue
            if key.startswith("$deleteFromPrimitiveList/"):
                field = key.split("/", 1)[1]
                result[field] = [x for x in result.get(field) or [] if x not in value]
                continue
            if isinstance(value, dict) and value.get("$patch") == "delete":
                result.pop(key, None)
                continue
        if value is None and rules.null_removes:
            result.pop(key, None)
        elif key not in result and not rules.null_removes:
            result[key] = copy.deepcopy(value)  # apply: a new field is taken as given, nulls and all
        else:
            result[key] = merge(result.get(key), value, rules, (*spath, key))
    if rules.directives and isinstance(patch.get("$retainKeys"), list):
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _merge_keyed(current: list[Any], items: list[Any], keys: list[str], rules: Rules, spath: SPath) -> list[Any]:
    """A map list: items matched by their keys are merged, the others added (or, by directive, removed)."""
    item_path = (*spath, "[]")
    if rules.applied_leads:
        by_key = {item_key(i, keys): i for i in current}
        wanted = [item_key(i, keys) for i in items]
        merged = [
            merge(by_key[k], i, rules, item_path) if k in by_key else copy.deepcopy(i)
            for k, i in zip(wanted, items, strict=True)
        ]
        return merged + [i for i in current if item_key(i, keys) not in wanted]
    if rules.directives and any(isinstance(i, dict) and i.get("$patch") == "replace" for i in items):
        return [copy.deepcopy(i) for i in items if not (isinstance(i, dict) and "$patch" in i)]
    out = [copy.deepcopy(i) for i in current]
    for item in items:
        if not isinstance(item, dict):
            out.append(copy.deepcopy(item))
            continue
        key = item_key(item, keys)
        index = next((n for n, i in enumerate(out) if item_key(i, keys) == key), None)
        if rules.directives and item.get("$patch") == "delete":
            if index is not None:
                del out[index]
        elif index is None:
            out.append(merge({}, item, rules, item_path))
        else:
            out[index] = merge(out[index], item, rules, item_path)
    return out
