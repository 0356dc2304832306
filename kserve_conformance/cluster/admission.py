"""KServe's operator side, as the API shows it: the controller's pods and its admission webhooks.

A KServe install is a controller manager (the Deployment ``kserve/kserve-controller-manager``,
label ``control-plane: kserve-controller-manager``) that also serves the InferenceService
webhooks the ``inferenceservice.serving.kserve.io`` webhook configurations register. Its pods are
found the way the API server itself reaches them: through the Service the validating webhook
calls, and that Service's selector; on a cluster where the webhook configuration cannot be read,
by KServe's label in the namespaces installs use.

The webhooks are judged by what the API server answers a server-side dry run (``dryRun=All``):
it runs mutating admission, schema validation and validating admission, and stores nothing, so
the suite can show an invalid InferenceService to a user's cluster without creating it. A
webhook's refusal reads ``admission webhook "<name>" denied the request: <reason>`` (since
Kubernetes' ``ToStatusErr``; recent API servers put ``<resource> "<name>" is forbidden:`` before it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kserve_conformance.cluster.kube import GROUP, PLURAL, VERSION, Obj, json_object

DENIED = "denied the request"


class NotVisible(Exception):
    """The controller's pods cannot be looked at with this user's rights (RBAC): why, in one line."""


@dataclass(frozen=True)
class ControllerPods:
    """The KServe controller's pods, and how they were found (for the report)."""

    found_by: str
    pods: list[Obj] = field(default_factory=list)

    def names(self) -> list[str]:
        return [f"{p['metadata'].get('namespace')}/{p['metadata']['name']}" for p in self.pods]


def _pods(api: client.ApiClient, namespace: str, selector: str) -> list[Obj]:
    listed = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector)
    serializer: Any = api  # the client's own JSON form of its models (untyped in the client)
    pods = [json_object(serializer.sanitize_for_serialization(p)) for p in listed.items]
    # A pod on its way out is a rollout's leftover, not the controller that runs.
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _behind_webhook(api: client.ApiClient, configuration: str, webhook: str) -> ControllerPods | None:
    """The pods behind the Service the validating webhook calls; None if there is no such webhook."""
    config = client.AdmissionregistrationV1Api(api).read_validating_webhook_configuration(configuration)
    hooks = [h for h in config.webhooks or [] if h.name == webhook]
    service = hooks[0].client_config.service if hooks else None
    if service is None:
        return None
    svc = client.CoreV1Api(api).read_namespaced_service(service.name, service.namespace)
    labels = dict((svc.spec.selector if svc.spec else None) or {})
    if not labels:
        return None
    where = f"Service {service.namespace}/{service.name} ({_selector(labels)}), which webhook {webhook} calls"
    return ControllerPods(f"the pods of {where}", _pods(api, service.namespace, _selector(labels)))


def find_controller(
    api: client.ApiClient, configuration: str, webhook: str, selector: str, namespaces: Sequence[str]
) -> ControllerPods:
    """The controller's pods: behind the validating webhook's Service, else by ``selector`` in ``namespaces``.

    Raises :class:`NotVisible` when nothing was found and this user may not read where they would be.
    """
    refused: list[str] = []
    try:
        found = _behind_webhook(api, configuration, webhook)
        if found is not None:
            return found
    except ApiException as err:
        if err.status == 403:
            refused.append(f"the ValidatingWebhookConfiguration {configuration} (or the Service it calls)")
        elif err.status != 404:
            raise
    for namespace in namespaces:
        try:
            pods = _pods(api, namespace, selector)
        except ApiException as err:
            if err.status != 403:
                raise
            refused.append(f"pods in namespace {namespace}")
            continue
        if pods:
            return ControllerPods(f"the pods labelled {selector} in namespace {namespace}", pods)
    if refused:
        raise NotVisible(f"no KServe controller pod was found, and this user may not read {'; '.join(refused)}")
    return ControllerPods(
        f"no ValidatingWebhookConfiguration {configuration} with webhook {webhook}, "
        f"and no pod labelled {selector} in namespaces {', '.join(namespaces)}"
    )


def unready(pod: Obj) -> str | None:
    """Why a pod is not Ready, with what its status says (phase, condition, container states); None if it is."""
    status = pod.get("status") or {}
    ready = {c.get("type"): c for c in status.get("conditions") or []}.get("Ready", {})
    if status.get("phase") == "Running" and ready.get("status") == "True":
        return None
    parts = [f"phase {status.get('phase') or 'unknown'}", f"Ready={ready.get('status') or 'missing'}"]
    if ready.get("reason"):
        parts[-1] += f" ({ready['reason']})"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        terminated = (state.get("terminated") or {}).get("reason")
        what = (
            f"waiting: {waiting}"
            if waiting
            else f"terminated: {terminated}"
            if terminated
            else ("ready" if container.get("ready") else "not ready")
        )
        parts.append(f"container {container.get('name')} {what}, {container.get('restartCount', 0)} restarts")
    return ", ".join(parts)


@dataclass(frozen=True)
class Admission:
    """What the API server answered a dry-run create: the object it would store, or its refusal."""

    stored: Obj | None
    code: int = 0
    reason: str = ""
    message: str = ""

    @property
    def admitted(self) -> bool:
        return self.stored is not None

    @property
    def by_webhook(self) -> bool:
        """Refused by an admission webhook (not by RBAC, the schema or a quota)."""
        return DENIED in self.message

    def describe(self) -> str:
        return "admitted" if self.admitted else f"refused with {self.code} {self.reason}: {self.message}"


def dry_run_create(api: client.ApiClient, namespace: str, manifest: Obj) -> Admission:
    """Create ``manifest`` with ``dryRun=All``: every admission step runs, nothing is stored."""
    custom = client.CustomObjectsApi(api)
    try:
        stored = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest, dry_run="All")
    except ApiException as err:
        if err.status is None or not 400 <= err.status < 500:
            raise
        try:
            body = json.loads(err.body or "{}")
        except json.JSONDecodeError:
            body = {"message": str(err.body)}
        return Admission(None, err.status, str(body.get("reason") or err.reason), str(body.get("message") or ""))
    return Admission(json_object(stored))


def field_at(obj: Obj, path: str) -> object:
    """The value at a dotted path (``spec.predictor.model.modelFormat.name``), or None."""
    value: object = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
