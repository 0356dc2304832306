"""KServe's LLMInferenceService: the walk-through performed, and its status held to its contract and its data plane.

In the default selection (catalog entry ``llmisvc-opt-125m``): one LLMInferenceService, the
walk-through's (``genai-first-llmisvc.md``), applied and watched by ``fixtures/llmisvc.py``, judged
by six checks: four that only read it, then one that writes it back through v1alpha1 (conversion),
then one that stops and restarts it (last: it takes the service down). Levels follow the one rule
(``checks/spec.py``), with KServe's docs as the spec of its API: the walk-through, the Ready
contract, the addresses and the stop are core, since KServe documents each and its own
LLMInferenceService e2e asserts each; status honesty is extended, since a KServe
release broke it (kserve/kserve#5986, v0.20), and so is the conversion, whose rule is Kubernetes'
API guide, not KServe's docs. A cluster without LLMInferenceService (its CRD not served) gets *not
supported* for the whole family, never a failure: it is an optional component of KServe. Quotes
are from KServe's docs (``genai-first-llmisvc.md``, ``llmisvc-status.md``, ``canary-rollout.md``)
and, for the conversion, Kubernetes' API changes guide, checked word for word by
``tests/unit/test_llmisvc_quotes.py``.
"""

from __future__ import annotations

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import CORE, EXTENDED, conformance, not_supported
from kserve_conformance.cluster import llmisvc_conversion as conversion
from kserve_conformance.cluster import llmisvc_status as contract
from kserve_conformance.cluster.kube import describe_conditions, is_ready
from kserve_conformance.cluster.llmisvc import STATUS_VERSION, STOP, VERSIONS, served_versions
from kserve_conformance.dataplane import llmisvc as dp
from kserve_conformance.fixtures import llmisvc_steps as steps
from kserve_conformance.fixtures.llmisvc import LLMISVCDeployment

pytestmark = pytest.mark.usefixtures("kserve_llmisvc")
FEATURES = (Feature.LLM_INFERENCE_SERVICE,)


@conformance(
    "LLMISVCWalkthrough",
    "The walk-through's LLMInferenceService is accepted, becomes Ready within the ready timeout and gets a URL "
    "(status.url, else an address), and the walk-through's completion sent there through the gateway is answered "
    "as the OpenAI reference's CreateCompletionResponse (object text_completion, the requested model, choices).",
    spec='"Once the service is ready, test it with a completion request"; "Wait until the pod shows `Running` '
    'status and all containers are ready"',
    level=CORE,
    features=FEATURES,
)
def test_llmisvc_walkthrough(kserve_llmisvc: LLMISVCDeployment) -> None:
    deployment = kserve_llmisvc
    assert deployment.ready_at_s is not None, deployment.not_ready()
    obj = deployment.current()
    target = steps.service_target(deployment, obj)
    assert target is not None, (
        f"Ready, but the status has no URL: no status.url and no address that routes by path "
        f"(addresses: {obj.get('status', {}).get('addresses')})"
    )
    exchange, seen = steps.served(deployment, target)
    assert exchange is not None, f"the walk-through's completion via {target.describe()}: {seen}"
    problems = dp.completion_problems(exchange, target.model)
    assert not problems, f"the walk-through's completion via {target.describe()}: " + "; ".join(problems)


@conformance(
    "LLMISVCReadyContract",
    "For the topology the service configures, every condition the status contract says is present is True, every "
    "optional one it says is cleared is absent, and each aggregate (Ready, WorkloadsReady, RouterReady) is exactly "
    "the conjunction of its present sub-conditions. A failure names each condition with its status and reason.",
    spec='"The top-level `Ready` condition aggregates `WorkloadsReady` and `RouterReady` via the Knative '
    '`LivingConditionSet` - it is True only when both are True."; "Optional conditions are cleared (removed) when '
    'the feature is not configured, so they never block readiness."',
    level=CORE,
    features=FEATURES,
)
def test_llmisvc_ready_contract(kserve_llmisvc: LLMISVCDeployment) -> None:
    obj = kserve_llmisvc.current()
    want = contract.expected(obj.get("spec", {}))
    problems = contract.contract_problems(obj, obj.get("spec", {}))
    assert not problems, f"the status breaks the contract for the topology {want.describe()}: " + "; ".join(problems)


@conformance(
    "LLMISVCAddresses",
    "Once Ready, every status.addresses[] entry answers a completion for each model it lists (through the "
    "model-routing header where its name ends in -model-routing); its origin names a Gateway API Gateway that "
    "exists and is Programmed; its models list the qualified name publishers/<namespace>/models/<model>, and a "
    "standard address the short name too; status.url is one of the addresses' URLs, and is set when an address "
    "is public (gateway-external).",
    spec='"Each address also carries a `models[]` list that surfaces the model names served through that '
    'endpoint."; "**Standard addresses** list both the fully-qualified name and the short model name."; '
    '"Each address carries an optional `origin` field (`ObjectReference`) identifying which Gateway produced it."',
    level=CORE,
    features=FEATURES,
)
def test_llmisvc_addresses(kserve_llmisvc: LLMISVCDeployment) -> None:
    deployment = kserve_llmisvc
    assert deployment.ready_at_s is not None, deployment.not_ready()
    if deployment.status_api.version != STATUS_VERSION:
        not_supported(
            Feature.LLM_INFERENCE_SERVICE,
            f"the cluster serves no {STATUS_VERSION}, whose addresses carry origin and models",
        )
    status = deployment.current().get("status", {})
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
    assert addresses, "Ready, but status.addresses is empty"
    problems = []
    for address in addresses:
        origin = contract.origin_problem(address)
        problems.append(origin or steps.gateway_problem(deployment, address))
        problems.append(contract.models_problem(address, deployment.namespace, deployment.model))
        for target in deployment.address_targets(address):
            exchange, seen = steps.served(deployment, target)
            if exchange is None or not dp.serves(exchange):
                problems.append(f"{target.describe()} does not serve model {target.model}: {seen}")
    problems.append(contract.status_url_problem(status))
    found = [p for p in problems if p]
    assert not found, "; ".join(found)


@conformance(
    "LLMISVCStatusHonesty",
    "The status and the data plane agree both ways: while Ready is True every URL the status names answers a "
    "completion (within the consistency timeout), and once any of them (or the walk-through's path through the "
    "ingress) answers one, Ready is True within the consistency timeout. A failure names the conditions that "
    "disagree with the data plane (kserve/kserve#5986: Ready False while the data plane answers; kserve/kserve#5385: "
    "an HTTPRoute without backends behind a Ready service).",
    spec='"Both `WorkloadsReady` and `RouterReady` are True; the service is accepting traffic"; "If all conditions are '
    "True but inference requests fail, the problem is usually at a layer the controller doesn't observe\"",
    level=EXTENDED,
    features=FEATURES,
)
def test_llmisvc_status_honesty(kserve_llmisvc: LLMISVCDeployment) -> None:
    deployment = kserve_llmisvc
    lag_s = deployment.timeouts.consistency_s
    served = deployment.first_served
    if served is not None:
        late = deployment.ready_at_s is None or deployment.ready_at_s - served.at_s > lag_s
        when = (
            f"Ready came {deployment.ready_at_s - served.at_s:.0f}s later"
            if deployment.ready_at_s is not None
            else f"Ready was still not True {deployment.waited_s - served.at_s:.0f}s later, at the ready timeout"
        )
        assert not late, (
            f"{served.target.describe()} answered a completion {served.at_s:.0f}s after apply ({served.answer[:200]}), "
            f"but {when} (allowed: {lag_s:.0f}s): {contract.disagreeing(deployment.last)} disagree with the data plane"
        )
    if deployment.ready_at_s is None:
        return  # never Ready and nothing answered: the status and the data plane agree (LLMISVCWalkthrough fails)
    obj = deployment.current()
    problems = []
    for target in deployment.targets(obj, walkthrough=False):
        exchange, seen = steps.served(deployment, target)
        if exchange is None or not dp.serves(exchange):
            problems.append(f"{target.describe()} answers {seen}")
    assert not problems, (
        f"{contract.claims(obj)} say the service accepts traffic, but within {lag_s:.0f}s: " + "; ".join(problems)
    )


@conformance(
    "LLMISVCConversion",
    "Read through v1alpha1 and through v1alpha2 (KServe serves both), the service gives every field both versions' "
    "schemas have (spec, status, metadata) the same value; and a v1alpha1 read written back unchanged (a no-op "
    "update) loses nothing the v1alpha2 object had: its spec and metadata are unchanged at once, and any status "
    "field the write lost is back within the consistency timeout (status is the controller's to rewrite). A failure "
    "names each field with both values.",
    spec='"It must be possible to round-trip your change (convert to different API versions and back) with no loss '
    "of information.\" (Kubernetes' API changes guide, kubernetes/community api_changes.md)",
    level=EXTENDED,
    features=FEATURES,
)
def test_llmisvc_conversion(kserve_llmisvc: LLMISVCDeployment) -> None:
    """Runs after the checks that only read the service (a write, even a no-op, could disturb them) and
    before LLMISVCStop (``fixtures/llmisvc.py`` orders them). kube-apiserver keeps, on an update, the status
    as the request's version shows it, so v1alpha2-only status fields (address origin and models) fall
    to what the v1alpha1 conversion keeps; KServe's conversion says the controller repopulates them, hence the
    consistency timeout for status alone."""
    deployment = kserve_llmisvc
    served = served_versions(deployment.api.api)
    if set(VERSIONS) - set(served):
        not_supported(Feature.LLM_INFERENCE_SERVICE, f"the cluster serves {served}, not both of {list(VERSIONS)}")
    v1alpha1, v1alpha2 = steps.read_both(deployment)
    differ = conversion.disagreements(v1alpha1, v1alpha2)
    assert not differ, "v1alpha1 and v1alpha2 disagree on fields both versions have: " + "; ".join(differ)
    before, after = steps.round_trip(deployment)
    lost = [p for p in conversion.lost(before, after) if not p.startswith("status")]
    assert not lost, "writing back the v1alpha1 read unchanged lost what v1alpha2 had: " + "; ".join(lost)
    after, _ = steps.wait_status(
        deployment,
        lambda obj: not conversion.lost(before.get("status", {}), obj.get("status", {})),
        deployment.timeouts.consistency_s,
    )
    lost = [f"status.{p}" for p in conversion.lost(before.get("status", {}), after.get("status", {}))]
    assert not lost, (
        f"writing back the v1alpha1 read unchanged lost status fields v1alpha2 had, not restored within "
        f"{deployment.timeouts.consistency_s:.0f}s: " + "; ".join(lost)
    )


@conformance(
    "LLMISVCStop",
    'The stop annotation serving.kserve.io/stop: "true" makes Ready False with reason Stopped (on Ready or a '
    "workload or router condition) within the delete timeout, the workload's pods go within it, and no URL the "
    "status named answers a completion within the consistency timeout; removing the annotation makes the service "
    "Ready again within the ready timeout, answering the walk-through's completion.",
    spec='"`Stopped` | Any workload condition | Service is force-stopped via annotation"; "Force-stopped services '
    'have no HTTPRoute and are not directly reachable until restarted."; "If v1 was force-stopped, remove the '
    'annotation to restart it"',
    level=CORE,
    features=FEATURES,
)
def test_llmisvc_stop(kserve_llmisvc: LLMISVCDeployment) -> None:
    """Last of the module (``fixtures/llmisvc.py`` orders it): it takes the shared service down. A stop
    deletes the workload, so it is bounded by the delete timeout (KServe's stop e2e allows 120 s, its
    default), not the ready timeout. The restart is judged although it costs a second model-server start
    (30-110 s of vLLM here): a stop that cannot be undone is what the canary rollout's rollback relies on
    not happening, and KServe's own stop e2e judges it."""
    deployment = kserve_llmisvc
    assert deployment.ready_at_s is not None, deployment.not_ready()
    before = deployment.current()
    targets = deployment.targets(before, walkthrough=False)
    timeouts = deployment.timeouts
    steps.annotate_stop(deployment, "true")
    obj, at = steps.wait_status(deployment, lambda o: contract.stopped_problem(o) is None, timeouts.delete_s)
    assert at is not None, (
        f'the stop annotation {STOP}: "true" did not stop the service within {timeouts.delete_s:.0f}s: '
        f"{contract.stopped_problem(obj)}"
    )
    left = steps.pods_left(deployment, timeouts.delete_s)
    assert not left, f"stopped (Ready False, Stopped), but the workload's pods are still there: {left}"
    serving = steps.still_serving(deployment, targets)
    assert not serving, "stopped, but its URLs still serve: " + "; ".join(serving)
    steps.annotate_stop(deployment, None)
    obj, at = steps.wait_status(deployment, is_ready, timeouts.ready_s)
    assert at is not None, (
        f"the stop annotation removed, the service is not Ready within {timeouts.ready_s:.0f}s: "
        f"{describe_conditions(obj)}"
    )
    target = steps.service_target(deployment, obj)
    assert target is not None, f"Ready again, but the status has no URL: {obj.get('status', {}).get('addresses')}"
    exchange, seen = steps.served(deployment, target)
    assert exchange is not None and dp.serves(exchange), f"Ready again, but {target.describe()} answers {seen}"
