"""KServe's LLMInferenceService on the local target: its API, install, controller and router.

``conversion`` converts between the two served versions (v1alpha1, v1alpha2 stored), ``install``
seeds what KServe's install and quickstart create (the CRDs, the well-known
``LLMInferenceServiceConfig`` presets in ``kserve``, a GatewayClass and the
``kserve-ingress-gateway`` Gateway), ``compose`` merges presets, ``baseRefs`` and the spec as
KServe documents, ``children`` writes the objects KServe's controller creates, ``status`` the
status KServe's status contract (``llmisvc-status.md``) describes, and ``controller`` runs it all,
the workload as real vLLM processes through the kubelet. Imports nothing of ``kserve_conformance``.
"""
