"""KServe's controller (reconcile loop, status, URLs, runtimes, storage); may import apiserver, knative, kubelet, faults, timeouts, gotemplate — never ingress or models."""  # noqa: E501
