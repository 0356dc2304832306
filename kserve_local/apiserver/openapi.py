"""``/openapi/v3`` (and a JSON ``/openapi/v2``) built from what the local target serves.

kubectl needs them: ``kubectl apply`` looks in the v3 document for a ``fieldValidation`` query
parameter on the kind's PATCH operation and, when it is there, lets the server validate
(``fieldValidation=Strict``); when no document can be downloaded it refuses to apply without
``--validate=false``. ``kubectl explain`` walks the kind's schema, found by its
``x-kubernetes-group-version-kind``.

Schemas come from the definitions the target already has: custom resources from their stored
CRD's ``openAPIV3Schema`` (as the apiextensions server publishes them), built-in kinds from the
official Python client's models (field names, types, descriptions, required fields), which are
generated from the same OpenAPI document a kube-apiserver publishes. Kinds with neither get an
open object, so nothing is claimed that the target does not know.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

from kubernetes.client import models

from kserve_local.apiserver.store import Obj, Resource

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
# The client's models drop the Go package; these live in apimachinery's meta/v1, the rest in k8s.io/api.
META_TYPES = frozenset(
    {
        "ObjectMeta",
        "ListMeta",
        "OwnerReference",
        "ManagedFieldsEntry",
        "LabelSelector",
        "LabelSelectorRequirement",
        "Condition",
        "Status",
        "StatusDetails",
        "StatusCause",
        "DeleteOptions",
        "Preconditions",
        "APIResource",
        "APIResourceList",
        "MicroTime",
    }
)
MODEL_FOR: dict[tuple[str, str], str] = {("events.k8s.io", "Event"): "EventsV1Event"}
VERSION_PREFIX = re.compile(r"^(V\d+(?:alpha\d+|beta\d+)?|[A-Z][a-z]+V\d+(?:alpha\d+|beta\d+)?)(?=[A-Z])")
COLLECTION_PARAMS = (
    "labelSelector",
    "fieldSelector",
    "resourceVersion",
    "resourceVersionMatch",
    "watch",
    "allowWatchBookmarks",
    "sendInitialEvents",
    "timeoutSeconds",
    "limit",
    "continue",
)
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def _query(name: str, kind: str = "string") -> Obj:
    return {"name": name, "in": "query", "schema": {"type": kind}, "uniqueItems": True}


def _group_path(group: str) -> str:
    """``serving.kserve.io`` -> ``io.kserve.serving``, as Kubernetes names definitions."""
    return ".".join(reversed(group.split("."))) if group else "io.k8s.api.core"


def definition_name(resource: Resource) -> str:
    if not resource.group:
        return f"io.k8s.api.core.{resource.version}.{resource.kind}"
    return f"{_group_path(resource.group)}.{resource.version}.{resource.kind}"


class ModelSchemas:
    """OpenAPI schemas from ``kubernetes.client.models``, following references as it goes."""

    def __init__(self) -> None:
        self.schemas: dict[str, Obj] = {}

    @staticmethod
    def _name(model: str) -> str:
        match = VERSION_PREFIX.match(model)
        prefix, short = (match.group(1), model[match.end() :]) if match else ("", model)
        if short in META_TYPES:
            return f"{META}.{short}"
        version = re.sub(r"^[A-Z][a-z]+", "", prefix).lower() or "v1"
        group = re.match(r"^[A-Z][a-z]+", prefix)
        return f"io.k8s.api.{group.group(0).lower() if group else 'core'}.{version}.{short}"

    def type_schema(self, kind: str) -> Obj:
        scalar: dict[str, Obj] = {
            "str": {"type": "string"},
            "int": {"type": "integer", "format": "int64"},
            "float": {"type": "number", "format": "double"},
            "bool": {"type": "boolean"},
            "datetime": {"type": "string", "format": "date-time"},
            "date": {"type": "string", "format": "date"},
            "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        }
        if kind in scalar:
            return dict(scalar[kind])
        if kind.startswith(("List[", "list[")):
            return {"type": "array", "items": self.type_schema(kind[5:-1])}
        if kind.startswith(("Dict[", "dict(")):
            return {"type": "object", "additionalProperties": self.type_schema(kind[5:-1].split(",", 1)[1].strip())}
        return {"$ref": f"#/components/schemas/{self.add(kind)}"}

    def add(self, model: str) -> str:
        name = self._name(model)
        if name in self.schemas:
            return name
        cls = getattr(models, model, None)
        if cls is None:
            self.schemas[name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            return name
        schema: Obj = {"type": "object", "description": (cls.__doc__ or "").strip().split("\n\n")[0].strip()}
        self.schemas[name] = schema  # before recursing: types refer to themselves (JSONSchemaProps)
        fields = getattr(cls, "model_fields", {})
        properties, required = {}, []
        for attr, kind in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            prop = self.type_schema(kind)
            info = fields.get(attr)
            if info is not None and info.description:
                prop = (
                    {"allOf": [prop], "description": info.description}
                    if "$ref" in prop
                    else {**prop, "description": info.description}
                )
            if info is not None and info.is_required():
                required.append(json_name)
            properties[json_name] = prop
        schema["properties"] = properties
        if required:
            schema["required"] = required
        return name


def _crd_version(crd: Obj, resource: Resource) -> Obj | None:
    for version in crd.get("spec", {}).get("versions", []):
        if isinstance(version, dict) and version.get("name") == resource.version:
            return version
    return None


class OpenApi:
    """Documents per group-version, rebuilt from the store's resources and CRDs on each request."""

    def __init__(self, resources: list[Resource], version: str) -> None:
        self.resources = resources
        self.version = version
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[bytes, str] | None] = {}

    def serialized(self, gv: str, crds: dict[str, Obj]) -> tuple[bytes, str] | None:
        """One group-version's document (``api/v1``, ``apis/G/V``) as JSON and its hash, or None.

        Built once per state of the CRDs (their resourceVersions): building walks the client's
        models and a real CRD's schema is megabytes of JSON.
        """
        key = (gv, tuple(sorted((n, c["metadata"].get("resourceVersion", "")) for n, c in crds.items())))
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            doc = self._build(gv, crds)
            body = json.dumps(doc).encode() if doc is not None else None
            self._cache[key] = (body, hashlib.sha512(body).hexdigest()[:128].upper()) if body else None
        return self._cache[key]

    def document(self, gv: str, crds: dict[str, Obj]) -> Obj | None:
        found = self.serialized(gv, crds)
        return json.loads(found[0]) if found else None

    @staticmethod
    def gv_path(resource: Resource) -> str:
        return f"api/{resource.version}" if not resource.group else f"apis/{resource.group}/{resource.version}"

    def _schema(self, resource: Resource, crd: Obj | None, models_: ModelSchemas) -> Obj:
        gvk = [{"group": resource.group, "version": resource.version, "kind": resource.kind}]
        version = _crd_version(crd, resource) if crd is not None else None
        schema: Obj
        if version is not None and version.get("schema", {}).get("openAPIV3Schema"):
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            props = schema.setdefault("properties", {})
            props["metadata"] = {
                "allOf": [{"$ref": f"#/components/schemas/{models_.add('V1ObjectMeta')}"}],
                "description": "Standard object's metadata.",
            }
            for field in ("apiVersion", "kind"):
                props.setdefault(field, {"type": "string"})
        else:
            model = MODEL_FOR.get((resource.group, resource.kind)) or f"V1{resource.kind}"
            if getattr(models, model, None) is not None:
                schema = copy.deepcopy(models_.schemas[models_.add(model)])
            else:
                schema = {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "description": f"{resource.kind} (its schema is not modelled by the local target)",
                }
        schema["x-kubernetes-group-version-kind"] = gvk
        return schema

    def _operations(self, resource: Resource, ref: str, gvk: Obj, custom: bool) -> dict[str, Obj]:
        name = resource.kind
        body = {"content": {"application/json": {"schema": {"$ref": ref}}}, "required": True}
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}}
        scope = "Namespaced" if resource.namespaced else ""
        writes = [_query(p) for p in WRITE_PARAMS]
        # kubectl computes a strategic merge patch only where the PATCH operation lists that type:
        # custom resources do not (kube-apiserver refuses it for them with 415).
        patch_types = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if not custom:
            patch_types.append("application/strategic-merge-patch+json")
        patch_body = {"content": {t: {"schema": {"type": "object"}} for t in patch_types}, "required": True}
        item = {
            "get": {
                "operationId": f"read{scope}{name}",
                "responses": ok,
                "x-kubernetes-action": "get",
                "x-kubernetes-group-version-kind": gvk,
            },
            "put": {
                "operationId": f"replace{scope}{name}",
                "requestBody": body,
                "responses": ok,
                "parameters": writes,
                "x-kubernetes-action": "put",
                "x-kubernetes-group-version-kind": gvk,
            },
            "patch": {
                "operationId": f"patch{scope}{name}",
                "requestBody": patch_body,
                "responses": ok,
                "parameters": [*writes, _query("force", "boolean")],
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            },
            "delete": {
                "operationId": f"delete{scope}{name}",
                "responses": ok,
                "parameters": [_query("dryRun")],
                "x-kubernetes-action": "delete",
                "x-kubernetes-group-version-kind": gvk,
            },
        }
        collection = {
            "get": {
                "operationId": f"list{scope}{name}",
                "responses": {"200": {"description": "OK"}},
                "parameters": [_query(p) for p in COLLECTION_PARAMS],
                "x-kubernetes-action": "list",
                "x-kubernetes-group-version-kind": gvk,
            },
            "post": {
                "operationId": f"create{scope}{name}",
                "requestBody": body,
                "responses": ok,
                "parameters": writes,
                "x-kubernetes-action": "post",
                "x-kubernetes-group-version-kind": gvk,
            },
        }
        return {"item": item, "collection": collection}

    def _build(self, gv: str, crds: dict[str, Obj]) -> Obj | None:
        served = [r for r in self.resources if self.gv_path(r) == gv]
        if not served:
            return None
        models_ = ModelSchemas()
        paths: dict[str, Obj] = {}
        for resource in served:
            name = definition_name(resource)
            models_.schemas[name] = self._schema(resource, crds.get(resource.key), models_)
            gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
            ops = self._operations(resource, f"#/components/schemas/{name}", gvk, resource.key in crds)
            base = (
                f"/{gv}/namespaces/{{namespace}}/{resource.plural}"
                if resource.namespaced
                else f"/{gv}/{resource.plural}"
            )
            paths[base] = ops["collection"]
            paths[f"{base}/{{name}}"] = ops["item"]
            if resource.status_subresource:
                paths[f"{base}/{{name}}/status"] = {k: v for k, v in ops["item"].items() if k != "delete"}
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": self.version},
            "paths": paths,
            "components": {"schemas": models_.schemas},
        }

    def index(self, crds: dict[str, Obj]) -> Obj:
        """``/openapi/v3``: one entry per group-version, its URL carrying the document's hash."""
        out: dict[str, Obj] = {}
        for gv in sorted({self.gv_path(r) for r in self.resources}):
            document = self.serialized(gv, crds)
            if document is None:
                continue  # a group-version without a document is not listed
            _, digest = document
            out[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
        return {"paths": out}

    def swagger(self, crds: dict[str, Obj]) -> Obj:
        """``/openapi/v2`` as JSON: all group-versions, with references rewritten to ``#/definitions``."""
        definitions: dict[str, Obj] = {}
        paths: dict[str, Obj] = {}
        for gv in sorted({self.gv_path(r) for r in self.resources}):
            found = self.serialized(gv, crds)
            doc = json.loads(found[0].replace(b"#/components/schemas/", b"#/definitions/")) if found else {}
            definitions.update(doc.get("components", {}).get("schemas", {}))
            for path, item in doc.get("paths", {}).items():
                dropped = ("requestBody", "responses", "parameters")
                paths[path] = {
                    verb: {k: v for k, v in op.items() if k not in dropped}
                    | {
                        "responses": {"200": {"description": "OK"}},
                        "parameters": [
                            {"name": p["name"], "in": p["in"], "type": p["schema"]["type"], "uniqueItems": True}
                            for p in op.get("parameters", [])
                        ],
                    }
                    for verb, op in item.items()
                }
        return {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": self.version},
            "paths": paths,
            "definitions": definitions,
        }
