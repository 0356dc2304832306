"""KEDA as the suite sees it: whether it is installed, and the ScaledObject KServe made for a predictor.

KServe's KEDA path (``serving.kserve.io/autoscalerClass: keda``, Standard mode) needs KEDA's
``ScaledObject`` CRD: without it KServe cannot create one and the path is *not supported* on the
cluster. The ScaledObject is named after the predictor's Deployment (``NAME-predictor``); its
status conditions (Ready, Active) say whether KEDA took it and whether its triggers are active,
which a failed check quotes.
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kserve_conformance.cluster.kube import Obj, json_object

GROUP, VERSION, PLURAL = "keda.sh", "v1alpha1", "scaledobjects"
CRD = f"{PLURAL}.{GROUP}"


def installed(api: client.ApiClient) -> bool | None:
    """True when the ScaledObject CRD is there, False when it is not, None when it cannot be read."""
    try:
        client.ApiextensionsV1Api(api).read_custom_resource_definition(CRD)
    except ApiException as err:
        if err.status == 404:
            return False
        if err.status == 403:
            return None
        raise
    return True


def scaled_object_name(isvc: str) -> str:
    return f"{isvc}-predictor"


def scaled_object(api: client.ApiClient, namespace: str, isvc: str) -> Obj | None:
    """The ScaledObject of ``isvc``'s predictor, or None when there is none."""
    try:
        found = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, scaled_object_name(isvc)
        )
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return json_object(found)


def describe(obj: Obj | None) -> str:
    """``ScaledObject x-predictor: min 1, max 2, triggers prometheus (threshold 2.000000); Ready=True, Active=True``."""
    if obj is None:
        return "no ScaledObject"
    spec, status = obj.get("spec", {}), obj.get("status") or {}
    triggers = ", ".join(
        f"{t.get('type', '?')} (threshold {t.get('metadata', {}).get('threshold', '?')})"
        for t in spec.get("triggers", [])
    )
    conditions = ", ".join(f"{c.get('type')}={c.get('status')}" for c in status.get("conditions", [])) or "no status"
    return (
        f"ScaledObject {obj['metadata']['name']}: min {spec.get('minReplicaCount', '?')}, "
        f"max {spec.get('maxReplicaCount', '?')}, triggers {triggers or 'none'}; {conditions}"
    )


def condition(obj: Obj | None, kind: str) -> str | None:
    """The status (True, False, Unknown) of one of the ScaledObject's conditions; None when absent."""
    for found in ((obj or {}).get("status") or {}).get("conditions", []):
        if found.get("type") == kind:
            return str(found.get("status"))
    return None
