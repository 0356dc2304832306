"""Istio's ingress gateway (HTTP/1.1 and h2c routing by host, the gateway faults); may import knative.revision/traffic, faults, timeouts — never apiserver or kserve."""  # noqa: E501
