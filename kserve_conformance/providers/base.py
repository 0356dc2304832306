"""The one interface every cluster provider implements.

A provider's whole job is to hand over a Kubernetes API client and, where it knows one, the
ingress endpoint. Everything after that (facts, namespace, apply, wait, checks, load, cleanup)
is one code path for every provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import urllib3
from kubernetes import client, config

from kserve_conformance.timeouts import DEFAULT

CONNECT_TIMEOUT_S = DEFAULT.api_connect_s
READ_TIMEOUT_S = DEFAULT.api_read_s


@dataclass(frozen=True)
class LoadRate:
    """The rate the load check sends when ``--kserve-load-rate`` is not given, and why: a provider
    declares what its target holds, so a newcomer's plain ``pytest`` passes on the local target
    and the report says which rate judged the run."""

    per_s: float
    why: str


# The walk-through's step 6 (docs/walkthrough.md): "500 requests per second for one minute".
TUTORIAL_RATE = LoadRate(
    500.0, "the tutorial's rate (the walk-through's step 6, docs/walkthrough.md: 500 requests per second for a minute)"
)


@dataclass(frozen=True)
class ClusterAccess:
    api: client.ApiClient
    kubeconfig: Path | None
    context: str | None
    description: str
    # Where the target's servers are processes on this machine (the local target), the root of their
    # process tree: timing checks then measure the servers' own CPU wait (checks/validity.py).
    server_pid: int | None = None
    # Blocks until the cluster can start a generative runtime's pod, raising SetupError when it never
    # will: the local target builds its runtimes' venv in the background; a real cluster pulls images
    # itself, so there is nothing to wait for.
    prepare_generative: Callable[[], None] = field(default=lambda: None, compare=False)


class Provider(Protocol):
    name: str
    load_rate: LoadRate  # what the load check sends by default on this provider's clusters

    def start(self) -> ClusterAccess:
        """Make the cluster reachable (create or reuse it) and return how to talk to it."""

    def stop(self) -> None:
        """Undo what start() did, and only that: never touch what the provider did not create."""


def api_client(kubeconfig: Path | None, context: str | None) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(
        config_file=str(kubeconfig) if kubeconfig else None, context=context, client_configuration=cfg
    )
    # Fail fast on an unreachable cluster instead of the client's minutes of retries, and never
    # hang on a server that accepts connections but stops answering: every call the suite makes
    # (watches included, which ask the server to close within 60 s) is bounded.
    cfg.retries = 1
    api = client.ApiClient(cfg)
    api.rest_client.pool_manager.connection_pool_kw["timeout"] = urllib3.Timeout(
        connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S
    )
    return api
