"""LLMInferenceService's traffic split (routing groups), judged statistically with stated bounds.

Opt-in: it runs when ``--kserve-services`` names ``llmisvc-canary``, the two versions of KServe's
canary rollout guide (``canary-rollout.md``): my-model-v1 at weight 9, my-model-v2 at weight 1 in
the routing group my-model, both serving the walk-through's model on vLLM (CPU). Both are created
together by this module's own fixture and deleted when it ends, also on a failure or Ctrl-C
(``fixtures/llmisvc_split.py``). Completions go where KServe's canary e2e sends them: the
gateway's ``/v1/completions`` with the model-routing header, the rule every member's route
shares; each is attributed to a member by the growth of the vLLM request counter of that member's
pods, read through the pod proxy (``conformance/data/llmisvc-split.yaml`` has the plan).

Two phases, as the guide and KServe's e2e run them, each with its bound:

1. the split as deployed, 9:1: each member's count of n = 300 is tested against its share by the
   exact two-sided binomial test, failing at p < 0.001 (a correct gateway fails once in a thousand
   runs; an even split puts v2 at about 150 where 30 is due, p < 1e-30);
2. v2 patched to weight 0 (the promote): v2 must answer none of n = 299, the least n for which a
   misroute rate of 1 in 100 shows at least once with 95 % probability (0.99^299 < 0.05). This is
   the phase that makes a 1-in-100 misroute detectable: a split test cannot, since telling 10 %
   from 11 % with 95 % power takes some 12,000 requests, and a member that must get nothing turns
   one stray request into a verdict.

Extended: weighted backendRefs are Gateway API's Extended support for HTTPRoute (its CRD:
"Support for this field varies based on the context where used"), and routing groups are a recent
KServe feature. A cluster whose LLMInferenceService has no ``spec.router.route.group`` (pruned on
create) gets *not supported*. Quotes: ``canary-rollout.md`` and Gateway API's HTTPRoute CRD, checked
word for word by ``tests/unit/test_llmisvc_quotes.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kserve_conformance.checks import statistics, traffic_split
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement, not_applicable
from kserve_conformance.fixtures import llmisvc_split as split
from kserve_conformance.fixtures.cluster import Cluster
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.reporting.evidence import counts_property


@pytest.fixture(scope="module")
def kserve_llmisvc_group(
    request: pytest.FixtureRequest, kserve_cluster: Cluster, kserve_namespace: str
) -> Iterator[split.GroupDeployment]:
    """The selected routing group (``llmisvc-canary``), deployed for this module and always deleted."""
    if suite_config.of(request.config).endpoint:
        not_applicable("--kserve-endpoint runs the data-plane checks only; there is no LLMInferenceService")
    entry = split.selected_entry(request.config)
    with split.deployed_group(request.config, kserve_cluster, kserve_namespace, entry) as group:
        yield group


@conformance(
    "LLMISVCTrafficSplit",
    "Two LLMInferenceServices of one routing group (canary-rollout.md's v1 at weight 9, v2 at weight 1) split the "
    "completions sent to their shared model-routing route by weight: each member's count of 300 passes the exact "
    "two-sided binomial test against its share weight/sum (p >= 0.001); after v2 is patched to weight 0, v2 "
    "answers none of 299 (a 1-in-100 misroute shows with 95 % probability). Each status.router.group lists the "
    "weights routed. Requests are attributed by the members' own pods' vLLM request counters; a failure gives "
    "the counts, the expected counts and p.",
    spec='"Weights are proportional, not percentages. v1 at 9 and v2 at 1 gives 90/10."; "Every route carries the '
    'same weighted backendRef set for all active (non-stopped) group members."; "Weight specifies the proportion of '
    "requests forwarded to the referenced backend. This is computed as weight/(sum of all weights in this "
    'BackendRefs list)."; "If weight is set to 0, no traffic should be forwarded for this entry."',
    level=EXTENDED,
    features=(Feature.LLM_INFERENCE_SERVICE,),
)
def test_llmisvc_traffic_split(request: pytest.FixtureRequest, kserve_llmisvc_group: split.GroupDeployment) -> None:
    group = kserve_llmisvc_group
    plan = group.plan
    waiting = group.not_ready()
    assert waiting is None, waiting
    routed, seen = split.wait_weights(group, plan.weights)
    assert routed, (
        f"status.router.group does not route the weights {traffic_split.weights_text(plan.weights)} within "
        f"{group.cluster.timeouts.traffic_s:.0f}s (--kserve-traffic-timeout): {seen}"
    )
    measured = split.measure(group, plan.requests, "split as deployed")
    counts_property(request.node, "split as deployed", {m: c or 0 for m, c in measured.counts.items()})
    unexplained = measured.unexplained()
    if unexplained is not None:
        invalid_measurement(unexplained)
    counts = {m: c or 0 for m, c in measured.counts.items()}
    verdicts = traffic_split.judge(counts, plan.weights)
    off = [v for v in verdicts if v.p_value < plan.alpha]
    assert not off, (
        f"the gateway does not split by weight {traffic_split.weights_text(plan.weights)}: "
        + "; ".join(v.describe() for v in off)
        + f" (exact binomial test, alpha {plan.alpha}; {measured.answered} of {measured.sent} answered)"
    )

    zero_weights = {**plan.weights, plan.zero_member: 0}
    split.set_weight(group, plan.zero_member, 0)
    routed, seen = split.wait_weights(group, zero_weights)
    assert routed, (
        f"after {plan.zero_member}'s weight was patched to 0, status.router.group does not route "
        f"{traffic_split.weights_text(zero_weights)} within {group.cluster.timeouts.traffic_s:.0f}s: {seen}"
    )
    split.settle(group, plan.zero_member)
    n = statistics.samples_to_detect(plan.misroute_rate, plan.confidence)
    measured = split.measure(group, n, "one member at weight 0")
    counts_property(request.node, "one member at weight 0", {m: c or 0 for m, c in measured.counts.items()})
    unexplained = measured.unexplained()
    if unexplained is not None:
        invalid_measurement(unexplained)
    stray = measured.counts.get(plan.zero_member) or 0
    assert stray == 0, (
        f"the gateway routes to a member at weight 0: {plan.zero_member} got {stray} of {measured.answered} "
        f"(weights {traffic_split.weights_text(zero_weights)} expect 0; {n} requests show a misroute rate of "
        f"{plan.misroute_rate:g} with probability {statistics.detection_probability(n, plan.misroute_rate):.3f})"
    )
