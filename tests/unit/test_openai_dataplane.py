"""The openai family's pure parts: the event-stream reader, the model-name rule, stop strings, usage."""

from __future__ import annotations

import pytest

from kserve_conformance.dataplane import openai_checks as oc
from kserve_conformance.dataplane import sse
from kserve_conformance.dataplane.openai import names_model


def events_of(*chunks: bytes) -> tuple[list[sse.Event], str]:
    lines = [(line, at) for line, at, _ in sse.lines_with_times(chunks, 0.0)]
    return sse.parse(lines)


def test_events_are_split_on_blank_lines_whatever_the_line_ends_and_chunking() -> None:
    events, trailing = events_of(b'data: {"a": 1}\r\n\r\nda', b"ta: [DONE]\n", b"\n")
    assert [e.data for e in events] == ['{"a": 1}', "[DONE]"]
    assert events[1].done and trailing == ""


def test_a_lone_cr_at_a_chunk_end_waits_for_its_lf() -> None:
    events, _ = events_of(b"data: x\r", b"\n\r\n")
    assert [e.data for e in events] == ["x"]


def test_non_data_fields_and_comments_are_kept_for_the_checks() -> None:
    events, _ = events_of(b"event: message\n: keep-alive\ndata: one\ndata: two\n\n")
    assert events[0].data == "one\ntwo"
    assert events[0].fields == (("event", "message"), ("", "keep-alive"))


def test_an_event_the_body_ends_without_dispatching_is_reported() -> None:
    events, trailing = events_of(b"data: a\n\ndata: [DONE]")
    assert [e.data for e in events] == ["a"] and trailing == "[DONE]"


@pytest.mark.parametrize(
    ("requested", "answered", "same"),
    [
        ("gpt-4o", "gpt-4o", True),
        ("gpt-4o", "gpt-4o-2024-08-06", True),
        ("llama", "llama:3.1", True),
        ("gpt-4o", "gpt-4o-mini", False),
        ("tiny", "other-model", False),
        ("tiny", None, False),
    ],
)
def test_a_more_specific_name_of_the_model_conforms_and_another_model_does_not(
    requested: str, answered: str | None, same: bool
) -> None:
    assert names_model(requested, answered) is same


@pytest.mark.parametrize(
    ("answer", "stop", "expected"),
    [
        # a whole word, its first occurrence nearest the middle, leaving text before it
        (" The river runs past the mill and the river runs", " mill", " The river runs past the"),
        ("Hello world again", " world", "Hello"),  # never the last word: max_tokens may have cut it
        # a repetitive answer: the word first occurs at the start, so the expected text is empty
        (" and and and and and and", " and", ""),
        # a word whose first occurrence is inside a longer word is not taken there
        ("x andy and z", " andy", "x"),
        # no usable word: up to three characters, with text before them where there is any
        ("::::::::::::::::", ":::", ""),
        ("Hello", "ell", "H"),
        ("\n\n\n", "\n\n", ""),
        ("ab", "a", ""),
    ],
)
def test_the_stop_string_is_a_whole_word_at_its_first_occurrence(answer: str, stop: str, expected: str) -> None:
    probe = oc.stop_from(answer)
    assert probe is not None and (probe.stop, probe.expected(answer)) == (stop, expected)
    assert answer.find(probe.stop) == probe.at


@pytest.mark.parametrize(("answer", "words"), [("", "is empty"), ("a", "fewer than 2 characters")])
def test_an_answer_without_a_stop_string_says_why(answer: str, words: str) -> None:
    assert oc.stop_from(answer) is None
    assert words in oc.no_stop_reason(answer)


@pytest.mark.parametrize(
    ("usage", "words"),
    [
        ({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 8}, "total_tokens 8 != prompt_tokens 3"),
        ({"prompt_tokens": 3, "completion_tokens": -1, "total_tokens": 2}, "completion_tokens not a count"),
        (None, "not an object"),
    ],
)
def test_usage_that_does_not_add_up_is_named(usage: object, words: str) -> None:
    problem = oc.usage_problem(usage)
    assert problem is not None and words in problem
    assert oc.usage_problem({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}) is None


def test_a_stream_sends_the_data_planes_routing_header() -> None:
    """A streaming request over a model-routing address needs the routing header as much as any other."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kserve_conformance.dataplane.openai import OpenAIPlane
    from kserve_conformance.dataplane.rest import DataPlane

    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.update(self.headers.items())
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        plane = OpenAIPlane(DataPlane(url, None, headers={"X-Gateway-Model-Name": "publishers/ns/models/m"}), "", "m")
        exchange = plane.stream("/v1/completions", {"model": "m", "prompt": "hi", "stream": True})
    finally:
        server.shutdown()
    assert seen.get("X-Gateway-Model-Name") == "publishers/ns/models/m", seen
    assert exchange.stream.events[0].done
