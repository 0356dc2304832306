"""LLMInferenceService and LLMInferenceServiceConfig, v1alpha1 <-> v1alpha2 (the stored version).

KServe serves both versions and converts through its webhook; this is the target's own
conversion of the fields whose shape differs between the two CRDs:

- v1alpha1 ``spec.model.criticality`` has no v1alpha2 field: it is kept in the annotation
  ``internal.serving.kserve.io/model-criticality`` (as KServe's conversion and its e2e do), and
  restored from it; the LoRA adapters' ``criticality`` likewise, in
  ``internal.serving.kserve.io/lora-criticalities`` as a JSON object from each adapter's index;
- the scheduler's pool spec: v1alpha1 ``extensionRef`` (``portNumber``) and ``targetPortNumber``
  with a plain label map ``selector`` are v1alpha2's ``endpointPickerRef`` (``port.number``),
  ``targetPorts[].number`` and ``selector.matchLabels`` (the Inference Extension's v1 pool);
- what only v1alpha2 has (``status.addresses[].origin``/``models``, ``status.appliedConfigs``,
  ``status.workloads``, ``status.router.group``, ``spec.kvCacheOffloading``,
  ``spec.model.confidential``) is left out of a v1alpha1 answer, as the v1alpha1 schema has no
  place for it.

``webhook`` is the conversion as the API server calls it: these functions, or with the
``llmisvc-conversion-lossy`` fault a v1alpha1 view that loses ``metadata.labels`` (so a v1alpha1
read shows none and writing that read back stores none).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kserve_local.faults import Fault, Faults

Obj = dict[str, Any]
GROUP = "serving.kserve.io"
CRITICALITY = "internal.serving.kserve.io/model-criticality"
LORA_CRITICALITIES = "internal.serving.kserve.io/lora-criticalities"
V1ALPHA2_ONLY_SPEC = ("kvCacheOffloading",)
V1ALPHA2_ONLY_MODEL = ("confidential",)
V1ALPHA2_ONLY_STATUS = ("appliedConfigs", "workloads")


def _pools(spec: Obj) -> list[Obj]:
    """Every scheduler pool spec in a spec (the service's, its prefill's)."""
    found = []
    for part in (spec, spec.get("prefill") or {}):
        pool = ((part.get("router") or {}).get("scheduler") or {}).get("pool") or {}
        if isinstance(pool.get("spec"), dict):
            found.append(pool["spec"])
    return found


def to_v1alpha2(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/v1alpha2"
    spec = out.get("spec") or {}
    model = spec.get("model") or {}
    criticality = model.pop("criticality", None)
    if criticality:
        out.setdefault("metadata", {}).setdefault("annotations", {})[CRITICALITY] = str(criticality)
    adapters = (model.get("lora") or {}).get("adapters") or []
    by_index = {str(i): str(a.pop("criticality")) for i, a in enumerate(adapters) if a.get("criticality")}
    for adapter in adapters:
        adapter.pop("criticality", None)
    if by_index:
        annotation = json.dumps(by_index, separators=(",", ":"), sort_keys=True)
        out.setdefault("metadata", {}).setdefault("annotations", {})[LORA_CRITICALITIES] = annotation
    for pool in _pools(spec):
        ref = pool.pop("extensionRef", None)
        if isinstance(ref, dict):
            ref = dict(ref)
            if "portNumber" in ref:
                ref["port"] = {"number": ref.pop("portNumber")}
            pool["endpointPickerRef"] = ref
        if "targetPortNumber" in pool:
            pool["targetPorts"] = [{"number": pool.pop("targetPortNumber")}]
        selector = pool.get("selector")
        if isinstance(selector, dict) and "matchLabels" not in selector:
            pool["selector"] = {"matchLabels": selector}
    return out


def to_v1alpha1(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/v1alpha1"
    spec = out.get("spec") or {}
    for key in V1ALPHA2_ONLY_SPEC:
        spec.pop(key, None)
    model = spec.get("model")
    if isinstance(model, dict):
        for key in V1ALPHA2_ONLY_MODEL:
            model.pop(key, None)
    annotations = out.get("metadata", {}).get("annotations") or {}
    criticality = annotations.pop(CRITICALITY, None)
    if criticality and isinstance(model, dict):
        model["criticality"] = criticality
    lora = annotations.pop(LORA_CRITICALITIES, None)
    if lora and isinstance(model, dict):
        with contextlib.suppress(ValueError):  # KServe drops an annotation it cannot read
            by_index = json.loads(lora)
            for i, adapter in enumerate((model.get("lora") or {}).get("adapters") or []):
                if isinstance(by_index, dict) and by_index.get(str(i)):
                    adapter["criticality"] = by_index[str(i)]
    if "annotations" in out.get("metadata", {}) and not annotations:
        out["metadata"].pop("annotations")
    for pool in _pools(spec):
        ref = pool.pop("endpointPickerRef", None)
        if isinstance(ref, dict):
            ref = dict(ref)
            port = ref.pop("port", None)
            if isinstance(port, dict) and "number" in port:
                ref["portNumber"] = port["number"]
            pool["extensionRef"] = ref
        ports = pool.pop("targetPorts", None)
        if ports:
            pool["targetPortNumber"] = ports[0].get("number")
        pool.pop("appProtocol", None)
        selector = pool.get("selector")
        if isinstance(selector, dict) and "matchLabels" in selector:
            pool["selector"] = selector["matchLabels"]
    status = out.get("status")
    if isinstance(status, dict):
        for key in V1ALPHA2_ONLY_STATUS:
            status.pop(key, None)
        (status.get("router") or {}).pop("group", None)
        for address in status.get("addresses") or []:
            address.pop("origin", None)
            address.pop("models", None)
    return out


Convert = Callable[[Obj], Obj]
View = TypeVar("View")


def without_labels(obj: Obj) -> Obj:
    """The ``llmisvc-conversion-lossy`` fault's v1alpha1 view: ``to_v1alpha1`` with ``metadata.labels`` lost."""
    out = to_v1alpha1(obj)
    out.get("metadata", {}).pop("labels", None)
    return out


def webhook(
    converted: Mapping[View, tuple[View, Convert, Convert]], faults: Faults
) -> dict[View, tuple[View, Convert, Convert]]:
    """The served views' conversions; with the ``llmisvc-conversion-lossy`` fault, the LLMInferenceService's
    v1alpha1 view (not its configs') is ``without_labels``."""
    if Fault.LLMISVC_CONVERSION_LOSSY not in faults:
        return dict(converted)
    return {
        view: (stored, without_labels if getattr(view, "kind", "") == "LLMInferenceService" else to_view, to_stored)
        for view, (stored, to_view, to_stored) in converted.items()
    }
