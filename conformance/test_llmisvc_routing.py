"""LLMInferenceService's model-name routing, judged as a decision: the right name is routed, no other is.

KServe's router programs the service's HTTPRoute with a rule (``v1-model-routing`` of the
``kserve-config-llm-router-route`` preset) that matches ``/v1/completions`` only with the header
``X-Gateway-Model-Name: publishers/<namespace>/models/<model>`` (its e2e sends exactly that), and
publishes the URL as the ``-model-routing`` address ("Model-routing addresses list the
fully-qualified routing name"). Answering the right name is half of a routing decision; the
check also sends the same completion, naming the served model in its body, with a header naming a
model no service serves and with no header, which no rule of the service matches: the gateway must
not route them to it. Gateway API says what must be answered then (404); a rare misroute is
sought statistically (enough requests that a 1 % rate shows with 95 % probability,
``conformance/data/llmisvc.yaml``).

Core: header matching is Gateway API's Core support ("Support: Core (Exact)"), the 404 a MUST,
and KServe documents the model-routing address its router builds on them, so every cluster
that serves LLMInferenceService with model routing meets it. A cluster without LLMInferenceService
gets *not supported* (the fixture), one whose status publishes no model-routing address *not
applicable*. A non-404 answer is not called a defect when another HTTPRoute on the same Gateway
could take the request (a catch-all a shared Gateway may have): Gateway API leaves that answer to
that route, so the measurement is reported invalid, naming the route. Quotes: Gateway API's
HTTPRoute CRD (the reference's ``crd/networking/gatewayapi_httproute.yaml``) and KServe's
``llmisvc-status.md``, checked word for word by ``tests/unit/test_llmisvc_quotes.py``.
"""

from __future__ import annotations

import pytest

from kserve_conformance.checks import statistics
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import CORE, conformance, invalid_measurement, not_applicable
from kserve_conformance.cluster.llmisvc_status import ROUTING, is_model_routing, qualified
from kserve_conformance.dataplane.llmisvc_routing import NOT_ROUTED, PLAN
from kserve_conformance.fixtures import llmisvc_routing_steps as steps
from kserve_conformance.fixtures.llmisvc import LLMISVCDeployment
from kserve_conformance.reporting.evidence import counts_property, measured_text

FEATURES = (Feature.LLM_INFERENCE_SERVICE,)


@conformance(
    "LLMISVCModelRouting",
    "Through the -model-routing address the status publishes, every completion with X-Gateway-Model-Name naming "
    "the served model's qualified name (publishers/<namespace>/models/<model>) is answered by the model; every one "
    "whose header names a model no service serves, or that has no header, is answered 404 and never by the model "
    "(the body names the served model, so a misroute is answered). Enough wrong-header requests are sent that a "
    "misroute rate of 1 in 100 shows at least once with 95 % probability (300). A failure counts each kind.",
    spec='"Headers specifies HTTP request header matchers. Multiple match values are ANDed together, meaning, a '
    'request must match all the specified headers to select the route."; "Support: Core (Exact)"; "When no rules '
    "matching a request have been successfully attached to the parent a request is coming from, a HTTP 404 status "
    'code MUST be returned."; "**Model-routing addresses** list the fully-qualified routing name '
    '(`publishers/<namespace>/models/<model-name>`)."',
    level=CORE,
    features=FEATURES,
)
def test_llmisvc_model_routing(request: pytest.FixtureRequest, kserve_llmisvc: LLMISVCDeployment) -> None:
    deployment = kserve_llmisvc
    assert deployment.ready_at_s is not None, deployment.not_ready()
    status = deployment.current().get("status", {})
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, dict) and a.get("url")]
    address = next((a for a in addresses if is_model_routing(a)), None)
    if address is None:
        not_applicable(
            f"the status publishes no address whose name ends in {ROUTING['suffix']} "
            f"(addresses: {[a.get('name') for a in addresses]}): the service does not route by model name"
        )
    url, name = str(address["url"]), qualified(deployment.namespace, deployment.model)
    header = ROUTING["header"]
    right, wrong, bare = steps.measure(deployment, url, name)
    rate = PLAN["misroute_rate"]
    detect = statistics.detection_probability(wrong.sent, rate)
    verdict = (
        f"{wrong.by_model} of {wrong.sent} wrong-header requests were answered by the model (a {rate:.0%} misroute "
        f"rate would show at least once with probability {detect:.1%}); {bare.by_model} of {bare.sent} requests "
        f"without {header}; {right.by_model} of {right.sent} with the right name"
    )
    answered = {"right header": right.by_model, "wrong header": wrong.by_model, "no header": bare.by_model}
    counts_property(request.node, "model-routing answered by the model", answered)
    measured_text(request.node, "model routing", "\n".join([verdict, right.counts(), wrong.counts(), bare.counts()]))

    assert right.by_model == right.sent, (
        f"{right.sent - right.by_model} of {right.sent} requests with {header}: {name} to {url} were not answered "
        f"by the model: {right.seen(skip=('answered by the model',))}"
    )
    not_404 = [t for t in (wrong, bare) if t.not_routed != t.sent]
    takers, problem = steps.other_takers(deployment, address) if not_404 else ([], None)
    if takers:
        invalid_measurement(
            f"another route on the Gateway may take requests without the model's header: {', '.join(takers)}; "
            f"its answers cannot be told from a misroute ({'; '.join(t.counts() for t in not_404)})"
        )
    misrouted = [t for t in (wrong, bare) if t.by_model]
    assert not misrouted, (
        "the gateway routed requests that no rule of the service matches to the model: "
        + "; ".join(f"{t.by_model} of {t.sent} {t.what} were answered by it" for t in misrouted)
        + f" (none may be; {wrong.sent} wrong-header requests show a {rate:.0%} misroute rate with probability "
        f"{detect:.1%})"
    )
    where = f" (HTTPRoutes {problem})" if problem else " (no other HTTPRoute on the Gateway matches them)"
    assert not not_404, f"Gateway API requires {NOT_ROUTED} when no rule matches{where}, but " + "; ".join(
        f"{t.counts()}: {t.seen(skip=(str(NOT_ROUTED),))}" for t in not_404
    )
