"""The model-routing check's arithmetic, plan, tally and shared-Gateway excuse, without a cluster."""

from __future__ import annotations

import json

import pytest

from kserve_conformance.checks import statistics
from kserve_conformance.cluster import httproutes
from kserve_conformance.dataplane.llmisvc_routing import PLAN, Tally, wrong_names
from kserve_conformance.dataplane.rest import Exchange

QUALIFIED = "publishers/team/models/facebook/opt-125m"
MODELS = (QUALIFIED, "facebook/opt-125m")
GATEWAY = ("kserve", "kserve-ingress-gateway")


def answer(status: int, doc: object) -> Exchange:
    return Exchange("POST", "http://gw/v1/completions", {}, b"", status, {}, json.dumps(doc).encode(), 0.1)


def test_299_requests_show_a_one_percent_misroute_with_95_percent_probability() -> None:
    assert statistics.samples_to_detect(0.01, 0.95) == 299
    assert statistics.detection_probability(298, 0.01) < 0.95 <= statistics.detection_probability(299, 0.01)
    assert f"{statistics.detection_probability(300, 0.01):.1%}" == "95.1%"
    assert statistics.samples_to_detect(0.5, 0.5) == 1
    assert statistics.detection_probability(0, 0.01) == 0.0


def test_the_plan_sends_enough_wrong_header_requests_for_its_confidence() -> None:
    """The data cannot drift below what its comment promises."""
    needed = statistics.samples_to_detect(PLAN["misroute_rate"], PLAN["confidence"])
    assert PLAN["wrong_header_requests"] >= needed, f"{PLAN['wrong_header_requests']} < {needed}"
    assert PLAN["body"]["max_tokens"] == 1


def test_the_wrong_names_are_not_the_served_one_nor_each_other() -> None:
    names = wrong_names(QUALIFIED)
    assert QUALIFIED not in names and len(set(names)) == len(names) == len(PLAN["wrong_names"])
    assert QUALIFIED.startswith(names[-1]), "one is a prefix of the served name: a prefix match would take it"


def test_a_tally_counts_the_models_answers_apart_from_other_statuses() -> None:
    tally = Tally("wrong-header requests", MODELS)
    completion = {"object": "text_completion", "model": "facebook/opt-125m", "choices": [{"text": "x"}]}
    tally.add(answer(200, completion))
    tally.add(answer(200, {**completion, "model": "other"}))
    tally.add(answer(404, {}))
    tally.add(None, "transport error ConnectionError: refused")
    assert (tally.sent, tally.by_model, tally.not_routed) == (4, 1, 1)
    assert tally.counts() == "4 wrong-header requests: 200 1, 404 1, answered by the model 1, transport error 1"
    assert "refused" in tally.seen(skip=("404",)) and "404 " not in tally.seen(skip=("404",))
    more = Tally("wrong-header requests", MODELS)
    more.add(answer(404, {}))
    tally.merge(more)
    assert (tally.sent, tally.not_routed) == (5, 2)


def route(matches: list[object], parent: str = "kserve-ingress-gateway", hostnames: list[str] | None = None) -> dict:
    spec = {
        "parentRefs": [{"name": parent, "namespace": "kserve"}],
        "rules": [{"name": "r", "matches": matches}],
        **({"hostnames": hostnames} if hostnames else {}),
    }
    return {"metadata": {"namespace": "team", "name": "x"}, "spec": spec}


HEADER = [{"name": "X-Gateway-Model-Name", "value": QUALIFIED}]


@pytest.mark.parametrize(
    ("obj", "takes"),
    [
        (route([{"path": {"type": "Exact", "value": "/v1/completions"}, "headers": HEADER}]), False),
        (route([{"path": {"type": "PathPrefix", "value": "/team/opt/v1/completions"}}]), False),
        (route([{"path": {"type": "PathPrefix", "value": "/v1/comp"}}]), False),
        (route([{"path": {"type": "PathPrefix", "value": "/"}}], parent="other"), False),
        (route([{"path": {"type": "PathPrefix", "value": "/"}}], hostnames=["a.example.com"]), False),
        (route([{"path": {"type": "PathPrefix", "value": "/v1/"}}]), True),
        (route([{}]), True),
        (route([{"path": {"type": "Exact", "value": "/v1/completions"}}], hostnames=["gw.example.com"]), True),
    ],
)
def test_only_a_headerless_match_on_the_path_on_the_same_gateway_could_take_the_request(obj: dict, takes: bool) -> None:
    found = httproutes.headerless_takers([obj], GATEWAY, "gw.example.com", "/v1/completions")
    assert found == (["HTTPRoute team/x rule r"] if takes else [])
