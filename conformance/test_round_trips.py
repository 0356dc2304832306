"""Single-request round trips through the ingress, timed by pytest-benchmark.

These are measurements, not conformance checks: each fails only if the answer is wrong (a
broken target must not produce a number), and the timings are saved under
``<report-dir>/benchmarks`` so ``--benchmark-compare`` shows how a change moved them.
"""

from __future__ import annotations

from typing import Any

import pytest

from kserve_conformance.fixtures.owned import ServedModel
from kserve_conformance.fixtures.service_requests import timed

pytestmark = pytest.mark.round_trip


@pytest.mark.services(protocol="v1")
def test_v1_predict(benchmark: Any, kserve_service: ServedModel) -> None:
    tutorial = kserve_service.entry.payloads["tutorial"]
    path = f"/v1/models/{kserve_service.name}:predict"
    exchange = timed(benchmark, kserve_service, lambda: kserve_service.dataplane.post_json(path, tutorial["request"]))
    assert exchange.status == 200 and exchange.json() == tutorial["exact"], exchange.describe()


@pytest.mark.services(protocol="v2")
def test_v2_infer(benchmark: Any, kserve_service: ServedModel) -> None:
    infer = kserve_service.entry.payloads["infer"]
    path = f"/v2/models/{kserve_service.name}/infer"
    exchange = timed(benchmark, kserve_service, lambda: kserve_service.dataplane.post_json(path, infer["request"]))
    assert exchange.status == 200, exchange.describe()
    assert [int(x) for x in exchange.json()["outputs"][0]["data"]] == infer["classes"], exchange.describe()


def test_model_ready(benchmark: Any, kserve_service: ServedModel) -> None:
    exchange = timed(benchmark, kserve_service, lambda: kserve_service.dataplane.get(kserve_service.readiness_path()))
    assert exchange.status == 200, exchange.describe()
