"""One InferenceService per rollout or scaling module: applied, waited for, reached, always deleted.

The session's shared services (``fixtures/services.py``) must not change under other checks, so
each module here deploys its own, changes it as its checks go, and deletes it at the end,
even when a check fails or the run is interrupted. Knative-only modules say *not supported*
before anything is created on a Standard-mode cluster.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import allure
import pytest
import requests
import yaml

from kserve_conformance import config as suite_config
from kserve_conformance.dataplane import DataPlane, Exchange, consecutive_successes
from kserve_conformance.errors import SetupError
from kserve_conformance.evidence import attach_text
from kserve_conformance.fixtures.cluster import Cluster, progress
from kserve_conformance.kube import InferenceServices, Obj, describe_conditions
from kserve_conformance.lifecycle import Request, predictor_selector, ready_pods
from kserve_conformance.plugin import fail_setup
from kserve_conformance.report import FIGURE_PREFIX
from kserve_conformance.spec import not_applicable, not_supported
from kserve_conformance.urls import expected_urls, service_mode


@dataclass
class LifecycleService:
    """A service the module's checks change; ``passed`` lets a later check depend on an earlier one."""

    name: str
    namespace: str
    mode: str
    api: InferenceServices
    dataplane: DataPlane
    ready: Obj
    request_body: Any  # None: the request is a GET
    request_path: str
    passed: set[str] = field(default_factory=set)
    facts: dict[str, Any] = field(default_factory=dict)  # what one check learnt for the next (revisions, times)
    session: requests.Session = field(default_factory=requests.Session)  # the checks' own requests, one at a time
    rewrite: Callable[[str], str] = str  # --storage-uri-map, for a patch that sets a storageUri
    consecutive: int = 3  # --consecutive-successes
    consistency_s: float = 60.0  # --consistency-timeout

    def current(self) -> Obj:
        return self.api.get(self.name)

    def patch(self, body: Obj) -> Obj:
        body = with_storage(body, self.rewrite)
        with allure.step(f"merge-patch {self.name}: {json.dumps(body)}"):
            return self.api.patch(self.name, body)

    def predict(self) -> Exchange:
        if self.request_body is None:
            return self.dataplane.get(self.request_path)
        return self.dataplane.post_json(self.request_path, self.request_body)

    def settle(self) -> None:
        """N consecutive successful predicts before answers are counted, as every request check waits
        after Ready: the data path may follow a status change a moment later (kserve/kserve#604)."""
        with allure.step(f"{self.consecutive} consecutive successful predicts"):
            consecutive_successes(self.predict, self.consecutive, self.consistency_s)

    def closed_loop_request(self, timeout_s: float) -> Request:
        """The module's request as the background traffic sends it, bypassing DataPlane's retries:
        every answer and every transport error counts."""
        headers = {"Content-Type": "application/json"} if self.request_body is not None else {}
        if self.dataplane.host:
            headers["Host"] = self.dataplane.host
        url = f"{self.dataplane.base_url}{self.dataplane.path_prefix}{self.request_path}"
        body = json.dumps(self.request_body).encode() if self.request_body is not None else None
        return Request(url, headers, body, timeout_s)

    def timed_predict(self, timeout_s: float) -> tuple[int | None, bytes, float, str]:
        """One request, no retry, timed from send to the full answer: (status, body, seconds, error)."""
        req = self.closed_loop_request(timeout_s)
        start = time.perf_counter()
        try:
            r = req.send(self.session)
        except requests.RequestException as err:
            return None, b"", time.perf_counter() - start, f"{type(err).__name__}: {err}"
        return r.status_code, r.content, time.perf_counter() - start, ""

    def ready_pods(self) -> list[str]:
        """Ready predictor pods now (names), read from the pods themselves."""
        core = self.api.core
        pods = core.list_namespaced_pod(self.namespace, label_selector=predictor_selector(self.name)).items
        return ready_pods(core.api_client.sanitize_for_serialization(pods))


def merge(base: Obj, patch: Obj) -> Obj:
    """RFC 7386 merge of ``patch`` into a copy of ``base`` (for building a manifest from data)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def mode_of(manifest: Obj, cluster: Cluster) -> str:
    return service_mode(manifest.get("metadata", {}).get("annotations"), cluster.facts.ingress)


def _dataplane(config: pytest.Config, cluster: Cluster, ready: Obj, namespace: str, mode: str) -> DataPlane:
    meta = ready["metadata"]
    expected = expected_urls(meta["name"], namespace, mode, cluster.facts.ingress, meta.get("annotations"),
                             meta.get("labels"))
    if suite_config.of(config).resolvable_domain:
        return DataPlane(expected.url.removesuffix(expected.path_prefix), None, expected.path_prefix,
                         cluster.timeouts.request_s)
    return DataPlane(cluster.ingress.base_url, expected.host, expected.path_prefix, cluster.timeouts.request_s)


def with_storage(manifest: Obj, rewrite: Callable[[str], str]) -> Obj:
    """A copy with ``spec.predictor.model.storageUri`` rewritten (--storage-uri-map), if it has one."""
    body = copy.deepcopy(manifest)
    model = body.get("spec", {}).get("predictor", {}).get("model")
    if isinstance(model, dict) and model.get("storageUri"):
        model["storageUri"] = rewrite(model["storageUri"])
    return body


def cluster_for(request: pytest.FixtureRequest) -> Cluster:
    """The session's cluster; *not applicable* with --endpoint, where there is no InferenceService."""
    if suite_config.of(request.config).endpoint:
        not_applicable("--endpoint runs the data-plane checks only; there is no InferenceService to change")
    return request.getfixturevalue("kserve_cluster")


@contextmanager
def deployed(request: pytest.FixtureRequest, cluster: Cluster, manifest: Obj, request_doc: dict[str, Any],
             *, knative_only: str = "") -> Iterator[LifecycleService]:
    """Create ``manifest``, wait for Ready, yield the service; delete it (and wait) whatever happens.

    ``knative_only``: the KServe sentence that makes the module Knative-only; in Standard mode
    every check of the module is *not supported*, and nothing is created.
    """
    mode = mode_of(manifest, cluster)
    if knative_only and mode != "Knative":
        not_supported("Knative", f"the service would run in {mode} mode: {knative_only}")
    namespace: str = request.getfixturevalue("kserve_namespace")
    say = progress(request.config)
    isvcs = InferenceServices(cluster.api, namespace, say)
    name = manifest["metadata"]["name"]
    with allure.step(f"Apply InferenceService {name} in {namespace}"):
        try:
            isvcs.create(with_storage(manifest, cluster.storage.rewrite))
        except SetupError as err:
            fail_setup(err)
            raise
    try:
        attach_text(f"{name}.yaml", yaml.safe_dump(manifest, sort_keys=False))
        try:
            ready = isvcs.wait_ready(name, cluster.timeouts.ready_s)
        except TimeoutError:
            attach_text("diagnostics.txt", _diagnostics(isvcs, name))
            raise
        say(f"{name}: Ready ({describe_conditions(ready)})")
        dataplane = _dataplane(request.config, cluster, ready, namespace, mode)
        yield LifecycleService(name, namespace, mode, isvcs, dataplane, ready, request_doc.get("body"),
                               request_doc["path"].format(name=name), rewrite=cluster.storage.rewrite,
                               consecutive=cluster.consecutive_successes,
                               consistency_s=cluster.timeouts.consistency_s)
    finally:
        with allure.step(f"Delete {name} and wait until it is gone"):
            isvcs.delete(name)
            isvcs.wait_gone(name, cluster.timeouts.delete_s)
        say(f"{name}: deleted")


def _diagnostics(isvcs: InferenceServices, name: str) -> str:
    try:
        return "\n\n".join(f"--- {k}\n{v}" for k, v in isvcs.diagnostics(name).items())
    except Exception as err:  # diagnostics explain a failure and must never become one
        return f"collecting diagnostics failed: {type(err).__name__}: {err}"


def figure(item: pytest.Item, name: str, seconds: float) -> None:
    """A measured time: an Allure attachment, a JUnit property (``kserve-conformance.figure.NAME``) and
    the report's figures. Written to the item's properties as the plugin writes the check's name
    (``record_property`` warns under the xunit2 JUnit family the suite writes)."""
    item.user_properties.append((f"{FIGURE_PREFIX}{name}", f"{seconds:.3f}"))
    allure.attach(f"{name}: {seconds:.3f} s", name=f"figure {name}", attachment_type=allure.attachment_type.TEXT)


def counts_property(item: pytest.Item, name: str, counts: dict[str, int]) -> None:
    """Exact counts as a JUnit property and an Allure attachment."""
    text = json.dumps(dict(sorted(counts.items())))
    item.user_properties.append((f"kserve-conformance.counts.{name}", text))
    allure.attach(text, name=f"counts {name}", attachment_type=allure.attachment_type.JSON)

