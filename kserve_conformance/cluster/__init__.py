"""Kubernetes access: the API client wrappers, cluster facts, expected URLs, ingress discovery, rollout status.

May import ``checks``, ``errors``, ``timeouts``; never the data plane, providers, reporting or pytest glue.
"""
