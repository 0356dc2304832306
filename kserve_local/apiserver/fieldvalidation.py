"""Unknown fields against a CRD's structural schema: what ``fieldValidation=Strict`` reports.

kubectl (``--validate=strict``, its default) sends ``fieldValidation=Strict`` once the OpenAPI
document says the server supports it, and relies on the server to refuse a misspelled field
(``spec.predictor.modle``) instead of silently dropping it. ``Warn`` answers with a ``Warning``
header, ``Ignore`` says nothing. Objects under ``x-kubernetes-preserve-unknown-fields`` are open
(the built-in subset schema marks ``spec`` so: it does not know every field).
"""

from __future__ import annotations

from typing import Any

from kserve_local.apiserver.store import ApiError, Obj

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if props is not None and key in props:
                found += unknown_fields(item, props[key], where)
            elif isinstance(extra, dict):
                found += unknown_fields(item, extra, where)
            elif props is not None or extra is False:
                found.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{i}]")
    return found


def check(obj: Obj, schema: dict[str, Any] | None, directive: str | None) -> list[str]:
    """Warnings to send (``Warn``), or raise 400 (``Strict``); ObjectMeta is checked by its field list."""
    if schema is None or directive in (None, "", "Ignore"):
        return []
    body = {k: v for k, v in obj.items() if k != "metadata"}
    found = unknown_fields(body, schema)
    found += [f"metadata.{k}" for k in obj.get("metadata", {}) if k not in OBJECT_META_FIELDS]
    if not found:
        return []
    messages = [f'unknown field "{f}"' for f in found]
    if directive == "Strict":
        raise ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(messages))
    return messages
