"""An in-memory object store with the semantics the suite relies on from a real API server.

Why not kmock's ``KubernetesEmulator``: it was evaluated first (kmock 0.8). Its state lives in a
request interceptor with fixed semantics: no resourceVersion (lists answer ``'...'``), watches
cannot resume from a version, PATCH is a plain dict merge with no status subresource, no
generation, no selectors, no PUT, no namespace existence or cascading deletion, and every object
keeps its full history in memory. Supplying those would have meant replacing every handler it
has and keeping only its URL parsing, so this small store and ``apiserver`` replace it.

What is modelled, because the checks and fixtures depend on it:
- ``metadata.uid``, ``resourceVersion`` (one cluster-wide counter), ``creationTimestamp``,
  ``generation`` (bumped only by spec changes), ``deletionTimestamp`` with finalizers;
- the ``status`` subresource: writes to the main resource never change status and vice versa;
- watches that resume from a resourceVersion, or answer 410 Gone when it is too old;
- namespaces that must exist for namespaced objects, and cascade on deletion.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """One served resource type, as API discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    status_subresource: bool = False
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


class ApiError(Exception):
    """An error with the shape of a Kubernetes ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.causes: list[Obj] = []  # details.causes: e.g. the fields of an apply conflict
        self.details: Obj = {}  # details' other fields: name, group, kind (a webhook's denial)

    def status(self) -> Obj:
        shown = {**self.details, **({"causes": self.causes} if self.causes else {})}
        details = {"details": shown} if shown else {}
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
            **details,
        }


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.key} "{name}" not found')


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WatchEvent:
    resource_version: int
    resource: Resource
    type: str
    object: Obj


NAMESPACES = Resource(
    "", "v1", "namespaces", "Namespace", namespaced=False, status_subresource=True, short_names=("ns",)
)


class Store:
    """Objects keyed by (resource, namespace, name), with a bounded event log for watches."""

    def __init__(self, resources: Iterable[Resource], history: int = 20_000) -> None:
        self.resources = list(resources)
        self._objects: dict[tuple[str, str, str], Obj] = {}
        self._rv = 0
        self._log: collections.deque[WatchEvent] = collections.deque(maxlen=history)
        self._changed = asyncio.Condition()
        self.validators: dict[str, Callable[[Obj], None]] = {}
        self.mutators: dict[str, Callable[[Obj], None]] = {}  # admission, as a mutating webhook
        # Validating admission webhooks, called with (new, old) after the schema: raise ApiError to deny.
        self.webhooks: dict[str, Callable[[Obj, Obj | None], None]] = {}
        self.forbidden_create: set[str] = set()  # resource keys RBAC denies (for negative controls)

    # --- reading ---------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, resource: Resource, namespace: str, name: str) -> Obj:
        obj = self._objects.get((resource.key, namespace, name))
        if obj is None:
            raise not_found(resource, name)
        return copy.deepcopy(obj)

    def find(self, resource: Resource, namespace: str, name: str) -> Obj | None:
        obj = self._objects.get((resource.key, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        match: Callable[[Obj], bool] | None = None,
        copies: bool = True,
    ) -> list[Obj]:
        """Matching objects, sorted; ``copies=False`` for read-only callers (no deep copy of large CRDs)."""
        return [
            copy.deepcopy(obj) if copies else obj
            for (key, ns, _), obj in sorted(self._objects.items())
            if key == resource.key and (namespace is None or ns == namespace) and (match is None or match(obj))
        ]

    def _newer_than(self, cursor: int) -> Callable[[], bool]:
        """A condition for ``_changed.wait_for``: the store moved past ``cursor``."""
        return lambda: self._rv > cursor

    async def watch(self, resource: Resource, since: int | None) -> AsyncIterator[WatchEvent]:
        """Events after ``since``; with no version, the current objects first, as ADDED."""
        if since is None:
            cursor = self._rv
            for obj in self.list(resource):
                yield WatchEvent(cursor, resource, "ADDED", obj)
        else:
            oldest = self._log[0].resource_version if self._log else self._rv + 1
            if since < oldest - 1 and since < self._rv:
                raise ApiError(410, "Expired", f"too old resource version: {since} ({oldest - 1})")
            cursor = since
        while True:
            newer = [e for e in self._log if e.resource_version > cursor]
            if not newer:
                async with self._changed:
                    await self._changed.wait_for(self._newer_than(cursor))
                continue
            for event in newer:
                cursor = event.resource_version
                if event.resource.key == resource.key:
                    yield event

    # --- writing ---------------------------------------------------------------------------
    async def create(self, resource: Resource, namespace: str, body: Obj, dry_run: bool = False) -> Obj:
        if resource.key in self.forbidden_create:
            raise ApiError(
                403,
                "Forbidden",
                f'{resource.key} is forbidden: User "local" cannot create resource '
                f'"{resource.plural}" in API group "{resource.group}" in the namespace "{namespace}"',
            )
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        name = meta.get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{resource.kind} is invalid: metadata.name: Required value")
        if resource.namespaced:
            self._require_live_namespace(namespace)
            meta["namespace"] = namespace
        key = (resource.key, namespace if resource.namespaced else "", name)
        if key in self._objects:
            raise ApiError(409, "AlreadyExists", f'{resource.key} "{name}" already exists')
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        if resource.status_subresource:
            obj.pop("status", None)
        if resource is NAMESPACES:
            obj["status"] = {"phase": "Active"}
        if resource.key in self.mutators:
            self.mutators[resource.key](obj)
        self._validate(resource, obj)
        self._admit(resource, obj, None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        meta.pop("resourceVersion", None)
        meta.pop("deletionTimestamp", None)
        if dry_run:  # everything a create checks and fills in, nothing stored or announced
            return obj
        return await self._commit(resource, key, obj, "ADDED")

    async def replace(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        body: Obj,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        key = (resource.key, namespace if resource.namespaced else "", name)
        current = self._objects.get(key)
        if current is None:
            raise not_found(resource, name)
        sent_rv = body.get("metadata", {}).get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource.key} "{name}": '
                "the object has been modified; please apply your changes to the latest version "
                "and try again",
            )
        new = copy.deepcopy(current)
        if subresource == "status":
            new["status"] = copy.deepcopy(body.get("status", {}))
            if "managedFields" in body.get("metadata", {}):  # field ownership is recorded for status writes too
                new["metadata"]["managedFields"] = copy.deepcopy(body["metadata"]["managedFields"])
        else:
            status = new.get("status")
            new = copy.deepcopy(body)
            new["apiVersion"], new["kind"] = resource.api_version, resource.kind
            meta = new.setdefault("metadata", {})
            for field in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name"):
                if field in current["metadata"]:
                    meta[field] = current["metadata"][field]
                else:
                    meta.pop(field, None)
            if resource.status_subresource or resource is NAMESPACES:
                if status is not None:
                    new["status"] = status
                else:
                    new.pop("status", None)
            if resource.key in self.mutators:
                self.mutators[resource.key](new)
            self._validate(resource, new)
            self._admit(resource, new, current)
            if _spec(new) != _spec(current):
                meta["generation"] = current["metadata"].get("generation", 1) + 1
        if new == current:
            return copy.deepcopy(current)
        if dry_run:
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return new
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return await self._remove(resource, key, new)
        return await self._commit(resource, key, new, "MODIFIED")

    async def delete(
        self, resource: Resource, namespace: str, name: str, dry_run: bool = False, preconditions: Obj | None = None
    ) -> Obj:
        key = (resource.key, namespace if resource.namespaced else "", name)
        current = self._objects.get(key)
        if current is None:
            raise not_found(resource, name)
        for field in ("uid", "resourceVersion"):
            wanted = (preconditions or {}).get(field)
            if wanted and wanted != current["metadata"].get(field):
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {resource.key} "{name}": '
                    f"Precondition failed: {field} in precondition: {wanted}, "
                    f"{field} in object meta: {current['metadata'].get(field)}",
                )
        if current["metadata"].get("deletionTimestamp"):
            return copy.deepcopy(current)
        if dry_run:  # what the delete would answer: marked when something must finish first
            shown = copy.deepcopy(current)
            if resource is NAMESPACES or current["metadata"].get("finalizers"):
                shown["metadata"]["deletionTimestamp"] = now()
            if resource is NAMESPACES:
                shown["status"] = {"phase": "Terminating"}
            return shown
        if resource is NAMESPACES:
            marked = copy.deepcopy(current)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["status"] = {"phase": "Terminating"}
            result = await self._commit(resource, key, marked, "MODIFIED")
            asyncio.get_running_loop().create_task(self._finish_namespace(name))
            return result
        if current["metadata"].get("finalizers"):
            marked = copy.deepcopy(current)
            marked["metadata"]["deletionTimestamp"] = now()
            return await self._commit(resource, key, marked, "MODIFIED")
        return await self._remove(resource, key, current)

    async def _finish_namespace(self, namespace: str) -> None:
        """Delete everything in a terminating namespace, then the namespace once it is empty."""
        for resource in self.resources:
            if resource.namespaced:
                for obj in self.list(resource, namespace):
                    await self.delete(resource, namespace, obj["metadata"]["name"])
        while any(ns == namespace for (_, ns, _) in self._objects):
            async with self._changed:
                await self._changed.wait()
        key = (NAMESPACES.key, "", namespace)
        if key in self._objects:
            await self._remove(NAMESPACES, key, self._objects[key])

    def _require_live_namespace(self, namespace: str) -> None:
        ns = self._objects.get((NAMESPACES.key, "", namespace))
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )

    def _validate(self, resource: Resource, obj: Obj) -> None:
        validator = self.validators.get(resource.key)
        if validator is not None:
            validator(obj)

    def _admit(self, resource: Resource, obj: Obj, old: Obj | None) -> None:
        webhook = self.webhooks.get(resource.key)
        if webhook is not None:
            webhook(obj, old)

    async def _commit(self, resource: Resource, key: tuple[str, str, str], obj: Obj, kind: str) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[key] = obj
        return await self._publish(resource, kind, obj)

    async def _remove(self, resource: Resource, key: tuple[str, str, str], obj: Obj) -> Obj:
        self._rv += 1
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._objects.pop(key, None)
        return await self._publish(resource, "DELETED", gone)

    async def _publish(self, resource: Resource, kind: str, obj: Obj) -> Obj:
        self._log.append(WatchEvent(self._rv, resource, kind, copy.deepcopy(obj)))
        async with self._changed:
            self._changed.notify_all()
        return copy.deepcopy(obj)


def _spec(obj: Obj) -> Obj:
    """What counts toward ``generation``: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
