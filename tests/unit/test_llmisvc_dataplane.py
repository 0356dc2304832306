"""Reaching an LLMInferenceService's URLs and reading its completions (``dataplane/llmisvc.py``)."""

from __future__ import annotations

import json
import socket

from kserve_conformance.dataplane import llmisvc as dp
from kserve_conformance.dataplane.rest import Exchange


def answer(status: int, doc: object) -> Exchange:
    return Exchange("POST", "http://gw/ns/m/v1/completions", {}, b"", status, {}, json.dumps(doc).encode(), 0.1)


COMPLETION = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 1751477229,
    "model": "facebook/opt-125m",
    "choices": [{"index": 0, "text": " big place", "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 16, "total_tokens": 21},
}


def test_a_listening_or_refusing_host_is_reached_directly_and_a_silent_one_is_not() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        open_port = listening.getsockname()[1]
        assert dp.reachable(f"http://127.0.0.1:{open_port}/ns/m", 2.0)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    # refused: the host answered that nothing listens there, so the URL is requested as written (and fails)
    assert dp.reachable(f"http://127.0.0.1:{closed_port}/", 2.0)
    assert not dp.reachable("http://kserve-conformance-no-such-host.invalid/ns/m", 2.0)


def test_a_route_goes_direct_or_through_the_ingress_with_the_urls_host() -> None:
    direct = dp.route_to("http://10.0.0.7:8080/ns/m/", "http://127.0.0.1:9000", True)
    assert (direct.base_url, direct.host, direct.path) == ("http://10.0.0.7:8080", None, "/ns/m")
    through = dp.route_to("http://10.0.0.7/ns/m", "http://127.0.0.1:9000/", False)
    assert (through.base_url, through.host, through.path) == ("http://127.0.0.1:9000", "10.0.0.7", "/ns/m")
    assert through.describe() == "http://10.0.0.7/ns/m (through the ingress http://127.0.0.1:9000, Host 10.0.0.7)"


def test_the_walkthroughs_expected_response_is_a_completion_and_defects_are_named() -> None:
    """The walk-through's own expected response conforms; each defect made of it is named."""
    assert dp.completion_problems(answer(200, COMPLETION), "facebook/opt-125m") == []
    assert dp.serves(answer(200, COMPLETION))
    problems = dp.completion_problems(answer(200, {**COMPLETION, "object": "chat", "model": "x"}), "facebook/opt-125m")
    assert "object is 'chat', not 'text_completion'" in problems
    assert "requested model 'facebook/opt-125m', the answer names 'x'" in problems
    assert dp.completion_problems(answer(500, {"error": "no backends"}), "m")[0].startswith("expected a completion")
    assert not dp.serves(answer(200, {**COMPLETION, "choices": []}))
