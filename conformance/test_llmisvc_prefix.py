"""LLMInferenceService's prefix-aware routing: requests sharing a prefix land on one pod, whose KV cache serves it.

KServe documents what its managed scheduler (``spec.router.scheduler`` without ``pool.ref``: an
InferencePool and llm-d's endpoint picker, EPP) does: "Routes to pods with matching KV cache
blocks". Two checks judge it on the walk-through's service (``fixtures/llmisvc.py``), sending
``prefix_routing.requests`` completions that share a long prompt prefix (``conformance/data/
llmisvc.yaml``), one after another, through the service's URL, and reading each workload pod's
own vLLM counters through the API server's pod proxy before and after (``fixtures/
llmisvc_prefix_steps.py``): which pod answered is what the pods counted, never a response header
a gateway may or may not add (Envoy and EPP promise none).

- LLMISVCPrefixCache: the pods' prefix-cache hits (summed) rise. vLLM caches only full KV blocks
  and evicts least-recently-used ones under memory pressure, so the rule asks for a rise above
  zero over the repeats, not a block count per request; the counts are reported exactly.
- LLMISVCPrefixRouting: with two or more Ready workload pods, every request lands on one pod
  (per-pod deltas of ``vllm:request_success_total``) and that pod's hits rise. One pod is *not
  applicable*: nothing to choose (``--kserve-llmisvc-replicas=2`` deploys two).

Both are extended: the endpoint picker and its scorers are llm-d's, not KServe's API, and a
cluster may configure other scorers (``spec.router.scheduler``'s config) than the default
prefix-cache and load weights KServe documents. A service without a managed scheduler is *not
applicable*; a model server that exports no prefix-cache counter *not supported* (feature
LLMPrefixCacheMetrics), never a failure. Their requests are the only traffic meanwhile (checks run
one at a time); a request count that does not match what was sent is reported as an invalid
measurement. Quotes: KServe's ``control-plane-llmisvc.md``, vLLM's prefix caching design doc
(``docs/design/prefix_caching.md``) and llm-d's optimized-baseline guide, checked by
``tests/unit/test_llmisvc_quotes.py``.
"""

from __future__ import annotations

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement, not_applicable, not_supported
from kserve_conformance.dataplane import prefix_cache as pc
from kserve_conformance.fixtures import llmisvc_prefix_steps as steps
from kserve_conformance.fixtures.llmisvc import LLMISVCDeployment
from kserve_conformance.reporting.evidence import counts_property, measured_text

pytestmark = pytest.mark.usefixtures("kserve_llmisvc")
FEATURES = (Feature.LLM_INFERENCE_SERVICE, Feature.LLM_PREFIX_CACHE_METRICS)
KSERVE = '"Routes to pods with matching KV cache blocks"'
HITS = " or ".join(pc.COUNTERS["hits"])


@conformance(
    "LLMISVCPrefixCache",
    "On a service with a managed scheduler, completions sharing a long prompt prefix, sent one after another "
    "through its URL, are all answered and the workload pods' prefix-cache hit counter (vllm:prefix_cache_hits, "
    "summed over the pods, read through the API server's pod proxy) rises above zero. A failure gives each pod's "
    "request, query and hit counts and, where the pod says so, that its prefix caching is off.",
    spec=f'{KSERVE}; "we cache the kv-cache blocks of processed requests, and reuse these blocks when a new request '
    'comes in with the same prefix as previous requests"; "We only cache full blocks." (vLLM, prefix_caching.md)',
    level=EXTENDED,
    features=FEATURES,
)
def test_llmisvc_prefix_cache(request: pytest.FixtureRequest, kserve_llmisvc: LLMISVCDeployment) -> None:
    deployment = kserve_llmisvc
    target = steps.url_of(deployment, steps.scheduled(deployment))
    pods = steps.ready_pods(deployment)
    assert pods, "Ready, but none of the workload's pods is Ready"
    measured = steps.measure(deployment, target, pods)
    measured_text(request.node, "prefix cache", measured.describe())
    hits = pc.total(measured.rises, "hits")
    if hits is None:
        not_supported(Feature.LLM_PREFIX_CACHE_METRICS, f"no workload pod exports {HITS}: {measured.describe()}")
    counts_property(request.node, "prefix-cache hits", {r.pod: int(r.hits or 0) for r in measured.rises})
    assert not measured.unanswered, f"requests via {target.describe()} not answered: " + "; ".join(measured.unanswered)
    off = [r.pod for r in measured.rises if r.caching_off()]
    cause = f"; prefix caching is off on {', '.join(off)} ({pc.CONFIG_INFO} enable_prefix_caching=False)" if off else ""
    assert hits > 0, (
        f"the workload pods' prefix-cache hits did not rise within {deployment.timeouts.consistency_s:.0f}s of "
        f"{measured.answered} requests sharing a prefix{cause}: {measured.describe()}"
    )


@conformance(
    "LLMISVCPrefixRouting",
    "On a service with a managed scheduler and two or more Ready workload pods, completions sharing a long prompt "
    "prefix, sent one after another through its URL, all land on one pod (each pod's vllm:request_success_total, "
    "read through the API server's pod proxy, counts them), and that pod's prefix-cache hits rise. A failure "
    "gives how many landed on each pod.",
    spec=f'{KSERVE}; "When a request arrives, it identifies which pod already holds the matching prefix in KV-cache '
    'and routes the request there." (llm-d, optimized baseline)',
    level=EXTENDED,
    features=FEATURES,
)
def test_llmisvc_prefix_routing(request: pytest.FixtureRequest, kserve_llmisvc: LLMISVCDeployment) -> None:
    deployment = kserve_llmisvc
    obj = steps.scheduled(deployment)
    pods = steps.ready_pods(deployment)
    if len(pods) < 2:
        not_applicable(
            f"one endpoint: nothing to choose ({len(pods)} Ready workload pod: {', '.join(map(str, pods)) or 'none'}; "
            "--kserve-llmisvc-replicas=2 deploys two)"
        )
    target = steps.url_of(deployment, obj)
    measured = steps.measure(deployment, target, pods)
    ranked = sorted(measured.rises, key=lambda r: (-(r.requests or 0), r.pod))
    landed = ", ".join(f"{r.requests:g} of {measured.answered} on pod {r.pod}" for r in ranked if r.requests)
    measured_text(request.node, "prefix routing", f"{landed or 'none counted'}; {measured.describe()}")
    counted = measured.counted()
    if counted is None:
        not_supported(
            Feature.LLM_PREFIX_CACHE_METRICS,
            f"no workload pod exports vllm:request_success_total: {measured.describe()}",
        )
    counts_property(request.node, "requests by pod", {r.pod: int(r.requests or 0) for r in measured.rises})
    assert not measured.unanswered, f"requests via {target.describe()} not answered: " + "; ".join(measured.unanswered)
    if counted != measured.answered:
        invalid_measurement(
            f"the pods counted {counted:g} finished requests within {deployment.timeouts.consistency_s:.0f}s while "
            f"{measured.answered} were answered: other traffic ran meanwhile, or a counter lags ({measured.describe()})"
        )
    top = ranked[0]
    assert top.requests == measured.answered, (
        f"the endpoint picker spread {measured.answered} requests sharing a prefix over the pods ({landed}) instead "
        f"of keeping them on the pod whose KV cache holds the prefix: {measured.describe()}"
    )
    assert top.hits is not None and top.hits > 0, (
        f"{landed}, but that pod's prefix-cache hits did not rise within {deployment.timeouts.consistency_s:.0f}s: "
        f"{top.describe()}"
    )
