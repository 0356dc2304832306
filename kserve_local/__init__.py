"""The embedded local target: a KServe cluster's systems on loopback (API server, KServe and Knative, kubelet, ingress, model servers); imports nothing from kserve_conformance."""  # noqa: E501
