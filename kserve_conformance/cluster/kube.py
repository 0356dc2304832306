"""InferenceService operations over the Kubernetes API, identical for every provider.

Waiting is done by watching, never by sleeping: the wait ends on the event that makes the
condition true, resumes from the last resourceVersion when the server closes the stream, and
reports progress (elapsed time, current conditions) as it goes, because "still waiting" with no
detail is the most common complaint about KServe readiness timeouts (kserve/kserve#1594).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from kserve_conformance.errors import SetupError
from kserve_conformance.timeouts import Timeouts  # noqa: F401  (the table; re-exported for callers)

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kserve-conformance"}
Obj = dict[str, Any]
Progress = Callable[[str], None]


def json_object(value: object) -> Obj:
    """A custom-objects API result, which the client types ``object``: the server's JSON object, as a dict."""
    assert isinstance(value, dict), f"the custom-objects API returned {type(value).__name__}, not a JSON object"
    return value


def conditions(obj: Obj) -> dict[str, Obj]:
    return {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}


def describe_conditions(obj: Obj) -> str:
    parts = []
    for ctype, c in sorted(conditions(obj).items()):
        reason = f" ({c['reason']})" if c.get("reason") else ""
        parts.append(f"{ctype}={c.get('status')}{reason}")
    return ", ".join(parts) or "no conditions yet"


def staleness(obj: Obj) -> str:
    generation = obj.get("metadata", {}).get("generation")
    observed = obj.get("status", {}).get("observedGeneration")
    if generation is not None and observed is not None and observed < generation:
        return f"; status.observedGeneration {observed} < metadata.generation {generation} (status is stale)"
    return ""


def is_ready(obj: Obj) -> bool:
    meta_gen = obj.get("metadata", {}).get("generation")
    status = obj.get("status", {})
    observed = status.get("observedGeneration")
    fresh = meta_gen is None or observed is None or observed >= meta_gen
    return fresh and conditions(obj).get("Ready", {}).get("status") == "True"


def forbidden(err: ApiException, verb: str, what: str, namespace: str) -> SetupError:
    return SetupError(
        f"forbidden to {verb} {what} in namespace {namespace}",
        f"grant '{verb}' on {what} to this user (RBAC), or use --kserve-test-namespace with one you may use",
    )


class InferenceServices:
    """One kind of KServe custom object in one namespace; ``cluster/llmisvc.py`` reuses it for
    LLMInferenceService by naming another kind, version and plural."""

    kind, group, version, plural = "InferenceService", GROUP, VERSION, PLURAL

    def __init__(self, api: client.ApiClient, namespace: str, progress: Progress | None = None) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.namespace = namespace
        self.progress = progress or (lambda _msg: None)

    @staticmethod
    def load_manifest(text: str) -> Obj:
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict) or doc.get("kind") != "InferenceService":
            raise ValueError("manifest is not an InferenceService")
        return doc

    @staticmethod
    def merge_patch(base: Obj, patch: Obj) -> Obj:
        """What the API server makes of ``patch`` (RFC 7386, ``null`` removes a field), applied to a copy
        of ``base``: a manifest built from data the way ``patch()`` would change the object."""
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = InferenceServices.merge_patch(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out

    def create(self, manifest: Obj) -> Obj:
        body = dict(manifest)
        meta = dict(body.get("metadata", {}))
        meta["labels"] = {**meta.get("labels", {}), **MANAGED_BY}
        body["metadata"] = meta
        try:
            return json_object(
                self.custom.create_namespaced_custom_object(self.group, self.version, self.namespace, self.plural, body)
            )
        except ApiException as err:
            if err.status == 403:
                raise forbidden(err, "create", self.plural, self.namespace) from err
            raise

    def get(self, name: str) -> Obj:
        return json_object(
            self.custom.get_namespaced_custom_object(self.group, self.version, self.namespace, self.plural, name)
        )

    def patch(self, name: str, body: Obj) -> Obj:
        """A JSON merge patch (RFC 7386), as ``kubectl patch --type=merge``: ``null`` removes a field."""
        try:
            return json_object(
                self.custom.patch_namespaced_custom_object(
                    self.group,
                    self.version,
                    self.namespace,
                    self.plural,
                    name,
                    body,
                    _content_type="application/merge-patch+json",
                )
            )
        except ApiException as err:
            if err.status == 403:
                raise forbidden(err, "patch", "inferenceservices", self.namespace) from err
            raise

    def wait_ready(self, name: str, timeout_s: float) -> Obj:
        """Block until Ready=True for the current generation; raise TimeoutError with the state."""
        start = time.monotonic()
        last: Obj = self.get(name)
        last_report = ""
        if is_ready(last):
            return last
        w = watch.Watch()
        rv = last["metadata"]["resourceVersion"]
        while (remaining := timeout_s - (time.monotonic() - start)) > 0:
            try:
                for event in w.stream(
                    self.custom.list_namespaced_custom_object,
                    self.group,
                    self.version,
                    self.namespace,
                    self.plural,
                    field_selector=f"metadata.name={name}",
                    resource_version=rv,
                    timeout_seconds=max(1, int(min(remaining, 30))),
                ):
                    obj: Obj = event["object"]  # a custom object's watch event carries it as a dict
                    rv = obj["metadata"]["resourceVersion"]
                    if event["type"] == "DELETED":
                        raise RuntimeError(f"{self.kind} {name} was deleted while waiting for Ready")
                    last = obj
                    report = describe_conditions(obj)
                    if report != last_report:
                        self.progress(f"{name}: {time.monotonic() - start:5.1f}s {report}")
                        last_report = report
                    if is_ready(obj):
                        w.stop()
                        return obj
                    if time.monotonic() - start > timeout_s:
                        w.stop()
                        break
            except ApiException as err:
                if err.status != 410:
                    raise
                last = self.get(name)  # the version expired: re-read and watch from now
                rv = last["metadata"]["resourceVersion"]
                if is_ready(last):
                    return last
        raise TimeoutError(
            f"{self.kind} {self.namespace}/{name} not Ready after {timeout_s:.0f}s: "
            f"{describe_conditions(last)}{staleness(last)}"
        )

    def delete(self, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(self.group, self.version, self.namespace, self.plural, name)
        except ApiException as err:
            if err.status != 404:
                raise

    def wait_gone(self, name: str, timeout_s: float) -> None:
        def still_there(obj: Any) -> str:
            return (
                f"{self.kind} {self.namespace}/{name} still present {timeout_s:.0f}s after deletion "
                f"(finalizers: {obj['metadata'].get('finalizers', [])})"
            )

        wait_deleted(
            lambda: self.get(name),
            lambda obj: str(obj["metadata"]["resourceVersion"]),
            still_there,
            (self.custom.list_namespaced_custom_object, self.group, self.version, self.namespace, self.plural),
            name,
            timeout_s,
        )

    # --- diagnostics ---------------------------------------------------------------------------
    def diagnostics(self, name: str, log_lines: int = 50) -> dict[str, str]:
        """The object, its events, its pods and the model server's log tail, as text attachments."""
        out: dict[str, str] = {}
        try:
            out["inferenceservice.yaml"] = yaml.safe_dump(self.get(name), sort_keys=False)
        except ApiException as err:
            out["inferenceservice.yaml"] = unavailable(err)
        out["events.txt"] = self.events_text(name)
        out.update(self.pods_text(f"serving.kserve.io/inferenceservice={name}", "kserve-container", log_lines))
        return out

    def events_text(self, name: str) -> str:
        """The events whose involved object is ``name``, a line each."""
        try:
            events = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}").items
        except ApiException as err:
            return unavailable(err)
        return "\n".join(f"{e.last_timestamp or ''} {e.type} {e.reason}: {e.message}" for e in events) or "no events"

    def pods_text(self, selector: str, container: str, log_lines: int) -> dict[str, str]:
        """``pods.txt`` (a line per pod matching ``selector``) and each pod's ``container`` log tail."""
        try:
            pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        except ApiException as err:
            return {"pods.txt": unavailable(err)}
        out: dict[str, str] = {}
        lines = []
        for pod in pods:
            assert pod.metadata is not None
            assert pod.metadata.name is not None
            pod_name = pod.metadata.name
            status = pod.status or client.V1PodStatus()  # no status yet: no phase, no containers
            statuses = ", ".join(
                f"{cs.name} ready={cs.ready} restarts={cs.restart_count}" for cs in status.container_statuses or []
            )
            lines.append(f"{pod_name} {status.phase} {statuses}")
            try:
                out[f"log-{pod_name}.txt"] = self.core.read_namespaced_pod_log(
                    pod_name, self.namespace, container=container, tail_lines=log_lines
                )
            except ApiException as err:
                out[f"log-{pod_name}.txt"] = unavailable(err)
        out["pods.txt"] = "\n".join(lines) or "no pods"
        return out


def unavailable(err: ApiException) -> str:
    return f"unavailable: {err.status} {err.reason}"


def wait_namespace_gone(core: client.CoreV1Api, name: str, timeout_s: float) -> None:
    """Deleting a namespace only starts it: wait until its contents and it are really gone."""

    def version(ns: Any) -> str:
        assert ns.metadata is not None  # a namespace read from the server has its metadata
        return str(ns.metadata.resource_version)

    def still_there(ns: Any) -> str:
        phase = ns.status.phase if ns.status else None
        return f"namespace {name} still {phase} {timeout_s:.0f}s after deletion"

    wait_deleted(lambda: core.read_namespace(name), version, still_there, (core.list_namespace,), name, timeout_s)


def wait_deleted(
    read: Callable[[], Any],
    version: Callable[[Any], str],
    still_there: Callable[[Any], str],
    list_call: tuple[Any, ...],
    name: str,
    timeout_s: float,
) -> None:
    """Until ``read`` answers 404: between reads, watch the one object from the version read.

    Deletion waits on finalizers, so the object may stay for minutes; a watch from the version just
    read sees the DELETED event the moment it happens, and a watch that ends without it (each lasts
    at most 30 s) reads again, so a missed event costs one read, never the deadline.
    ``list_call`` is the client's list method and its positional arguments, given to the watch as
    they are (the client reads the method's docstring for the type it returns).
    ``still_there(obj)`` is the timeout's message, from the last object read.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            obj = read()
        except ApiException as err:
            if err.status == 404:
                return
            raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(still_there(obj))
        w = watch.Watch()
        for event in w.stream(
            *list_call,
            field_selector=f"metadata.name={name}",
            resource_version=version(obj),
            timeout_seconds=max(1, int(min(remaining, 30))),
        ):
            if event["type"] == "DELETED":
                w.stop()
                return


def differences(sent: object, stored: object, path: str) -> Iterator[str]:
    """Fields of ``sent`` that ``stored`` lacks or holds with another value."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            yield f"{path} is {stored!r}, sent an object"
            return
        for key, value in sent.items():
            if key not in stored:
                yield f"{path}.{key} was dropped (sent {value!r})"
            else:
                yield from differences(value, stored[key], f"{path}.{key}")
    elif sent != stored:
        yield f"{path} is {stored!r}, sent {sent!r}"
