"""A service's model pods, where they say their metrics are, and a port-forward to one of them.

KServe labels every pod of an InferenceService with ``serving.kserve.io/inferenceservice`` and
copies the runtime's ``prometheus.kserve.io/port`` and ``prometheus.kserve.io/path`` onto it
(the model server's own metrics; ``prometheus.io/port`` may name queue-proxy's instead). The
suite reaches a pod's port as ``kubectl port-forward pod/NAME`` does, through the API server's
``pods/portforward``, so no pod network needs to be routable from where the suite runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from kserve_conformance.cluster.ingress import IngressEndpoint, kubectl_port_forward

ISVC_LABEL = "serving.kserve.io/inferenceservice"
KSERVE_PORT, KSERVE_PATH = "prometheus.kserve.io/port", "prometheus.kserve.io/path"
DEFAULT_PATH = "/metrics"


@dataclass(frozen=True)
class MetricsTarget:
    """Where one pod says its model server's metrics are (its annotations), or why it does not."""

    pod: str
    port: int | None
    path: str
    annotations: dict[str, str]

    @property
    def problem(self) -> str | None:
        if self.port is None:
            raw = self.annotations.get(KSERVE_PORT)
            return (
                f"pod {self.pod} has no {KSERVE_PORT} annotation (the runtime's spec.annotations did not reach it)"
                if raw is None
                else f"pod {self.pod}'s {KSERVE_PORT} is {raw!r}, not a port number"
            )
        return None


def model_pods(api: client.ApiClient, namespace: str, isvc: str) -> list[Any]:
    """The InferenceService's pods that are Running and Ready, by name."""
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"{ISVC_LABEL}={isvc}").items
    return sorted((p for p in pods if _ready(p)), key=lambda p: p.metadata.name)


def _ready(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp is not None or (pod.status and pod.status.phase) != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def metrics_target(pod: Any) -> MetricsTarget:
    annotations = dict(pod.metadata.annotations or {})
    raw = annotations.get(KSERVE_PORT, "")
    port = int(raw) if raw.isdigit() else None
    return MetricsTarget(pod.metadata.name, port, annotations.get(KSERVE_PATH, DEFAULT_PATH), annotations)


@dataclass
class PodForward:
    """``kubectl port-forward pod/NAME :PORT``, running until :meth:`close`."""

    endpoint: IngressEndpoint

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    def close(self) -> None:
        self.endpoint.close()


def port_forward_pod(
    namespace: str, pod: str, port: int, kubeconfig: Path | None, context: str | None, kubectl: str | None = None
) -> PodForward:
    """A local port forwarded to ``port`` of the pod, through the API server."""
    return PodForward(
        kubectl_port_forward(
            f"pod/{pod}",
            namespace,
            port,
            kubeconfig,
            context,
            kubectl,
            "check that the API server allows pods/portforward for this user",
        )
    )
