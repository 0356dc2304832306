"""The rollout and scaling checks' helpers, on recorded objects: no cluster, no model server."""

from __future__ import annotations

import http.server
import json
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from scipy.stats import binom

from kserve_conformance.checks import statistics
from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.cluster import rollout
from kserve_conformance.cluster.kube import InferenceServices
from kserve_conformance.dataplane import traffic
from kserve_conformance.dataplane.traffic import CANARY, NEITHER, OLD, ClosedLoop, Request

ANSWERS = load_yaml(DATA / "lifecycle.yaml")["rollout"]["answers"]
A, B = "sklearn-iris-rollout-predictor-00001", "sklearn-iris-rollout-predictor-00002"


def isvc(traffic: list[dict], generation: int = 2, observed: int = 2, ready: str = "True", **predictor: str) -> dict:
    """An InferenceService as a Knative-mode cluster reports it after a canary patch."""
    return {
        "metadata": {"name": "sklearn-iris-rollout", "generation": generation},
        "status": {
            "observedGeneration": observed,
            "conditions": [{"type": "Ready", "status": ready}],
            "components": {
                "predictor": {
                    "latestCreatedRevision": B,
                    "latestReadyRevision": B,
                    "latestRolledoutRevision": A,
                    **predictor,
                    "traffic": traffic,
                }
            },
        },
    }


CANARY_TRAFFIC = [
    {"revisionName": B, "latestRevision": True, "percent": 10, "tag": "latest", "url": "http://x"},
    {"revisionName": A, "latestRevision": False, "percent": 90, "tag": "prev"},
]


# --- the binomial bound ----------------------------------------------------------------------------
def test_interval_for_ten_percent_of_a_thousand_at_99_9() -> None:
    lo, hi = statistics.binomial_interval(1000, 0.10, 0.999)
    assert (lo, hi) == (70, 132)
    # each tail outside holds at most 0.05 %
    assert binom.cdf(lo - 1, 1000, 0.10) <= 0.0005
    assert binom.sf(hi, 1000, 0.10) <= 0.0005


def test_interval_rejects_a_canary_that_gets_everything_or_nothing() -> None:
    lo, hi = statistics.binomial_interval(1000, 0.10, 0.999)
    assert not lo <= 1000 <= hi
    assert not lo <= 0 <= hi


# --- status --------------------------------------------------------------------------------------
def test_canary_split_reached() -> None:
    assert rollout.canary_split_problem(isvc(CANARY_TRAFFIC), A, 10) is None


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        (isvc(CANARY_TRAFFIC, observed=1), "not Ready for the current generation"),
        (isvc(CANARY_TRAFFIC, ready="False"), "not Ready"),
        (isvc(CANARY_TRAFFIC, latestReadyRevision=A), f"no new ready revision besides {A}"),
        (
            isvc([{"revisionName": B, "latestRevision": True, "percent": 100}]),
            f"traffic lacks [{B} 10 % latest (latest), {A} 90 % (prev)]",
        ),
        (isvc([{**CANARY_TRAFFIC[0], "percent": 20}, {**CANARY_TRAFFIC[1], "percent": 80}]), f"{B} 10 %"),
        (isvc([CANARY_TRAFFIC[0], {**CANARY_TRAFFIC[1], "tag": "old"}]), f"{A} 90 % (prev)"),
    ],
)
def test_canary_split_problem_names_what_differs(obj: dict, words: str) -> None:
    problem = rollout.canary_split_problem(obj, A, 10)
    assert problem is not None and words in problem, problem


def test_promotion_needs_100_percent_and_the_rolled_out_revisions() -> None:
    promoted = [{"revisionName": B, "latestRevision": True, "percent": 100}]
    done = isvc(promoted, latestRolledoutRevision=B, previousRolledoutRevision=A)
    assert rollout.promoted_problem(done, A, B) is None
    assert "not 100 % to" in rollout.promoted_problem(isvc(CANARY_TRAFFIC), A, B)
    stale = isvc(promoted, latestRolledoutRevision=A)
    assert f"rolled-out revisions are latest={A}, previous=None" in rollout.promoted_problem(stale, A, B)


def test_rollback_pins_the_previous_revision() -> None:
    # Knative omits a 0 percent (omitempty): a missing percent is 0.
    rolled_back = [
        {"revisionName": B, "latestRevision": True, "tag": "latest"},
        {"revisionName": A, "latestRevision": False, "percent": 100, "tag": "prev"},
    ]
    assert rollout.rolled_back_problem(isvc(rolled_back), A, B) is None
    still = [{"revisionName": B, "latestRevision": True, "percent": 100}]
    assert f"traffic lacks [{A} 100 %" in rollout.rolled_back_problem(isvc(still), A, B)


def test_revision_state_names_the_traffic_it_saw() -> None:
    state = rollout.revision_state(isvc(CANARY_TRAFFIC))
    assert f"traffic [{B} 10 % latest (latest), {A} 90 % (prev)]" in state
    assert "generation 2, observedGeneration 2, Ready=True" in state


# --- answers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "label"),
    [
        ({"models": ["sklearn-iris-rollout"]}, OLD),
        ({"models": ["sklearn-iris-canary"]}, CANARY),
        ({"models": ["sklearn-iris-rollout", "sklearn-iris-canary"]}, NEITHER),  # one server serving both
        ({"models": []}, NEITHER),
        ({"predictions": [1, 1]}, NEITHER),  # a predict answer: not the identify request's
        (["sklearn-iris-rollout"], NEITHER),
    ],
)
def test_classify(body: object, label: str) -> None:
    assert traffic.classify(body, ANSWERS) == label


def test_answer_class_counts_statuses_and_transport_errors() -> None:
    assert traffic.answer_class(503, b"no", ANSWERS) == "503"
    assert traffic.answer_class(None, b"", ANSWERS) == "transport error"
    assert traffic.answer_class(200, b"not json", ANSWERS) == NEITHER
    assert traffic.answer_class(200, b'{"models": ["sklearn-iris-rollout"]}', ANSWERS) == OLD


def test_failures_are_described_with_exact_counts() -> None:
    counts = Counter({OLD: 400, CANARY: 9, "503": 3})
    failed = traffic.failures(counts, (OLD, CANARY))
    assert traffic.describe_counts(failed) == "503 \u00d73"


# --- replicas --------------------------------------------------------------------------------------
def pod(name: str, ready: str = "True", deleting: bool = False) -> dict:
    meta = {"name": name, **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
    return {
        "metadata": meta,
        "status": {"conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": ready}]},
    }


def test_ready_pods_skip_unready_and_terminating() -> None:
    pods = [
        pod("p-2"),
        pod("p-1"),
        pod("p-3", ready="False"),
        pod("p-4", deleting=True),
        {"metadata": {"name": "p-5"}, "status": {}},
    ]
    assert rollout.ready_pods(pods) == ["p-1", "p-2"]


def test_selector_is_the_predictor_of_the_service() -> None:
    assert rollout.predictor_selector("x") == "serving.kserve.io/inferenceservice=x,component=predictor"


# --- polling ---------------------------------------------------------------------------------------
def test_poll_until_needs_consecutive_agreement() -> None:
    values = iter([[], ["p"], [], [], [], []])
    polled = rollout.poll_until(lambda: next(values), lambda pods: not pods, timeout_s=60, consecutive=3, interval_s=0)
    assert polled.reached
    assert polled.last == []


def test_poll_until_gives_up_with_the_last_value() -> None:
    polled = rollout.poll_until(lambda: ["p-1"], lambda pods: not pods, timeout_s=0, interval_s=0)
    assert not polled.reached
    assert polled.last == ["p-1"]


# --- data -----------------------------------------------------------------------------------------
def test_merge_is_rfc7386() -> None:
    base = {"spec": {"predictor": {"minReplicas": 1, "model": {"storageUri": "gs://x"}}}}
    merged = InferenceServices.merge_patch(
        base, {"spec": {"predictor": {"minReplicas": None, "model": {"env": [{"name": "A"}]}}}}
    )
    assert merged == {"spec": {"predictor": {"model": {"storageUri": "gs://x", "env": [{"name": "A"}]}}}}
    assert base["spec"]["predictor"]["minReplicas"] == 1


def test_autoscale_variants_cover_both_modes() -> None:
    by_mode = load_yaml(DATA / "lifecycle.yaml")["autoscale"]["byMode"]
    assert by_mode["Knative"]["spec"]["predictor"]["scaleMetric"] == "concurrency"
    assert by_mode["Standard"]["spec"]["predictor"]["scaleMetric"] in ("cpu", "memory")  # KServe's HPA


# --- background traffic ----------------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[str]:
    """Answers 503 to every third request, [1, 1] otherwise."""
    seen = Counter[str]()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen["n"] += 1
            old = json.dumps({"models": ["sklearn-iris-rollout"]}).encode()
            status, body = (503, b"busy") if seen["n"] % 3 == 0 else (200, old)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/models/x:predict"
    httpd.shutdown()
    httpd.server_close()


def test_closed_loop_counts_every_answer(server: str) -> None:
    request = Request(server, {"Content-Type": "application/json"}, b"{}", 5)
    loop = ClosedLoop(request, lambda status, body: traffic.answer_class(status, body, ANSWERS), workers=2)
    with loop:
        while loop.sent < 30:
            threading.Event().wait(0.01)
    counts = loop.counts
    assert counts[OLD] > 0
    assert counts["503"] > 0
    assert set(counts) == {OLD, "503"}
    assert sum(counts.values()) >= 30


# --- options ---------------------------------------------------------------------------------------
def test_certification_refuses_a_higher_cold_start_ceiling(tmp_path) -> None:
    from tests.certification.test_refusals import IMPLEMENTATION, certify

    done = certify(tmp_path, *IMPLEMENTATION, "--kserve-cold-start-ceiling=400")
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "--kserve-cold-start-ceiling=400 is looser than the published 300" in done.stderr, done.stderr
    lower = certify(tmp_path, *IMPLEMENTATION, "--kserve-cold-start-ceiling=60", "--kserve-scale-timeout=60")
    assert lower.returncode == 0, lower.stdout[-2000:] + lower.stderr[-2000:]


@pytest.mark.parametrize(
    "option", ["--kserve-traffic-timeout=0", "--kserve-scale-timeout=-1", "--kserve-cold-start-ceiling=nan"]
)
def test_bad_lifecycle_option_is_one_line(tmp_path, option: str) -> None:
    from tests.unit.test_config import run

    done = run(tmp_path, option, "--collect-only")
    assert done.returncode == 4 and option.partition("=")[0] in done.stderr, done.stderr


# --- facts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, None),  # no config-autoscaler readable: Knative absent or not allowed
        ({}, True),  # Knative's default
        ({"enable-scale-to-zero": "false"}, False),
        ({"enable-scale-to-zero": " False "}, False),
        ({"enable-scale-to-zero": "true"}, True),
    ],
)
def test_scale_to_zero_is_read_from_config_autoscaler(data: dict | None, expected: bool | None) -> None:
    from types import SimpleNamespace

    from kubernetes.client.exceptions import ApiException

    from kserve_conformance.cluster.facts import _scale_to_zero

    class Core:
        def read_namespaced_config_map(self, name: str, namespace: str) -> SimpleNamespace:
            assert (name, namespace) == ("config-autoscaler", "knative-serving")
            if data is None:
                raise ApiException(status=404)
            return SimpleNamespace(data=data)

    assert _scale_to_zero(Core()) is expected  # type: ignore[arg-type]


# --- order ---------------------------------------------------------------------------------------
def test_a_load_runs_where_its_aftermath_judges_nothing_llm_load_first(tmp_path) -> None:
    """A service's load runs after its other checks, and then only where the next check needs another
    service (pytest deletes the loaded one first) or at the end: the aftermath of a load the target
    cannot hold judges nothing else. The LLM load goes before the classic one."""
    from kserve_conformance.checks import catalog
    from tests.unit.test_config import run

    done = run(tmp_path, "-m", "", "--collect-only")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = sorted((e.id for e in catalog.services(every=True)), key=len, reverse=True)

    def service(nodeid: str) -> str | None:
        param = nodeid.partition("[")[2]
        return next((i for i in ids if param == f"{i}]" or param.startswith(f"{i}-")), None)

    items = [line for line in done.stdout.splitlines() if "::" in line]
    loads = [n for n, item in enumerate(items) if item.split("::")[0].endswith(("test_llm_load.py", "test_load.py"))]
    assert loads, items
    for n in loads:
        own = service(items[n])
        later = [item for m, item in enumerate(items) if m > n and m not in loads]
        assert own not in {service(item) for item in later}, f"{items[n]} runs before a check of its service"
        assert not later or service(later[0]) not in (None, own), f"{items[n]} is followed by {later[0]}"
    for n in loads:
        if n + 1 in loads and service(items[n]) == service(items[n + 1]):
            assert items[n].split("::")[0].endswith("test_llm_load.py"), items[n : n + 2]  # LLM load, then classic
