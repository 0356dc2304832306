"""The Prometheus client's patience: a 503 is a Prometheus starting, anything else is an answer."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from kserve_conformance.dataplane.promql import PrometheusError, PromQL

BUILD_INFO = {"status": "success", "data": {"version": "2.42.0"}}
NO_ENDPOINTS = {"kind": "Status", "status": "Failure", "message": 'no endpoints available for service "prometheus"'}


class Answers(requests.Session):
    """A session that answers from a list, one (status, body) per request."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]]) -> None:
        super().__init__()
        self.answers = answers
        self.asked = 0

    def get(self, url: str | bytes, **_: Any) -> requests.Response:  # type: ignore[override]
        status, body = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        response = requests.Response()
        response.status_code = status
        response._content = requests.compat.json.dumps(body).encode()
        return response


def prom(answers: list[tuple[int, dict[str, Any]]]) -> PromQL:
    return PromQL("http://prometheus", Answers(answers), 1.0, "test")


def test_a_503_is_waited_for_until_prometheus_answers() -> None:
    p = prom([(503, NO_ENDPOINTS), (503, NO_ENDPOINTS), (200, BUILD_INFO)])
    assert p.build_info_once_available(deadline=float("inf"), poll_s=0.0) == {"version": "2.42.0"}


def test_a_503_at_the_deadline_is_raised_with_the_proxys_message() -> None:
    p = prom([(503, NO_ENDPOINTS)])
    with pytest.raises(PrometheusError, match="HTTP 503: no endpoints available") as raised:
        p.build_info_once_available(deadline=0.0, poll_s=0.0, clock=lambda: 1.0)
    assert raised.value.unavailable


def test_any_other_answer_is_final_at_once() -> None:
    session = Answers([(404, {"status": "error", "error": "not found"}), (200, BUILD_INFO)])
    p = PromQL("http://prometheus", session, 1.0, "test")
    with pytest.raises(PrometheusError, match="HTTP 404: not found"):
        p.build_info_once_available(deadline=float("inf"), poll_s=0.0)
    assert session.asked == 1
