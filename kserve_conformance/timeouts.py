"""Every timeout the suite uses, in one named table (as Gateway API's ``conformance/utils/config/timeout.go``).

A person whose cluster is slow should find here, in one place, what each wait bounds and
which option changes it. Six are options (``--kserve-ready-timeout``, ``--kserve-consistency-timeout``,
``--kserve-request-timeout``, ``--kserve-load-timeout``, ``--kserve-traffic-timeout``,
``--kserve-scale-timeout``); the others
are fixed because they bound the suite's own machinery, not the target's behaviour. Modules
import the table instead of defining constants of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Timeouts:
    """Seconds; each field says what it bounds."""

    # -- the target's behaviour (options) ---------------------------------------------------
    ready_s: float = 300.0  # apply → Ready=True (--kserve-ready-timeout)
    consistency_s: float = 60.0  # Ready → N consecutive successes through the ingress (--kserve-consistency-timeout)
    request_s: float = 30.0  # one data-plane request, REST and gRPC (--kserve-request-timeout)
    load_request_s: float = 30.0  # one request of the load run, vegeta's -timeout (--kserve-load-timeout)
    traffic_s: float = 120.0  # a patch → status shows the traffic split it asks for (--kserve-traffic-timeout)
    # replicas reach what autoscaling should give: up, down, to zero (--kserve-scale-timeout). Knative scales
    # to zero after its stable window (60 s) plus a 30 s grace period; the HPA waits out a 300 s
    # downscale stabilization window before it lowers replicas.
    scale_s: float = 600.0
    lifecycle_poll_s: float = 1.0  # interval between status and pod polls of the rollout and scaling checks
    # -- cleanup ----------------------------------------------------------------------------
    delete_s: float = 120.0  # delete → InferenceService gone (model server stopped)
    namespace_s: float = 120.0  # namespace deletion → gone
    # -- reaching things --------------------------------------------------------------------
    api_connect_s: float = 5.0  # TCP connect to the Kubernetes API server
    api_read_s: float = 120.0  # one Kubernetes API call (watches ask the server to close within 30 s)
    watch_chunk_s: float = 30.0  # one watch request before it is resumed from its resourceVersion
    endpoint_probe_s: float = 5.0  # --kserve-endpoint reachable at all (TCP connect), before any check runs
    port_forward_s: float = 30.0  # kubectl port-forward → local port accepts connections
    grpc_probe_s: float = 2.0  # predictor pod's gRPC port reachable from here
    prometheus_probe_s: float = 10.0  # one Prometheus HTTP API call (a candidate Service, a query)
    # a Prometheus answering 503 (its storage starting, or its Service without a ready endpoint yet)
    prometheus_start_s: float = 60.0
    # Prometheus has scraped what the suite sent: a sample after the requests, at a cluster's scrape
    # interval (15-60 s; 2 s on the local target), twice over (a quiet baseline, then the growth), with
    # the discovery's own refresh before the first.
    monitoring_s: float = 240.0
    # -- the suite's own processes ----------------------------------------------------------
    local_startup_s: float = 60.0  # the embedded local target writes its kubeconfig
    local_stop_grace_s: float = 15.0  # SIGTERM → local target exited, before SIGKILL
    model_server_startup_s: float = 120.0  # the local target's model server answers
    load_worker_ready_s: float = 60.0  # a load worker process started and read its spec
    load_worker_exit_s: float = 10.0  # a load worker exits after printing its result
    load_progress_s: float = 5.0  # interval between the load phase's progress lines
    parent_poll_s: float = 0.5  # a load worker checks that its parent is still alive
    # -- kind -------------------------------------------------------------------------------
    kind_command_s: float = 600.0  # one `kind` command (create cluster pulls a node image)
    rollout_s: float = 300.0  # `kubectl rollout status` per deployment after install
    webhook_s: float = 300.0  # KServe's webhook answers a dry-run create after install


DEFAULT = Timeouts()


def table() -> list[tuple[str, float]]:
    """The defaults as (name, seconds), for documentation and the report."""
    return [(f.name, getattr(DEFAULT, f.name)) for f in fields(Timeouts)]
