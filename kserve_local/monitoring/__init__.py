"""The local target's monitoring system: a real Prometheus, discovering pods through the target's API.

``prometheus`` starts and stops the server and publishes it as ``Service monitoring/prometheus``;
``pod_sd`` is the discovery it scrapes by. May import :mod:`kserve_local.apiserver`,
:mod:`kserve_local.faults`, :mod:`kserve_local.kubelet` (how processes are stopped) and
:mod:`kserve_local.timeouts`.
"""
