"""The LLMInferenceService status contract, held against the doc's own sample statuses.

``cluster/llmisvc_status.py`` judges conditions and addresses from data; here it judges the
samples of KServe's ``llmisvc-status.md`` (read from the reference copy) and the walk-through's
manifest: a healthy sample passes, each sample's defect and each defect made by hand is named.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance.checks.catalog import DATA
from kserve_conformance.cluster import llmisvc_status as contract

WALKTHROUGH = yaml.safe_load((DATA / "manifests" / "llmisvc-opt-125m.yaml").read_text())["spec"]
# The doc's healthy sample reports GatewaysReady and names its Gateway: its spec references one.
GATEWAY_REFS = {"gateway": {"refs": [{"name": "inference-gateway"}]}}
WITH_GATEWAY = {**WALKTHROUGH, "router": {**WALKTHROUGH["router"], **GATEWAY_REFS}}


def samples(reference: Path) -> list[Any]:
    text = (reference / "kserve" / "docs" / "llmisvc-status.md").read_text()
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def sample(reference: Path, heading: str) -> Any:
    """The YAML block right under the doc's ``### heading``."""
    text = (reference / "kserve" / "docs" / "llmisvc-status.md").read_text()
    after = text.split(f"### {heading}\n", 1)[1]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", after, re.S).group(1))  # type: ignore[union-attr]


def test_the_walkthrough_is_single_node_with_a_managed_route_and_scheduler() -> None:
    assert contract.topology(WALKTHROUGH) == {"single-node", "route", "managed-scheduler"}
    want = contract.expected(WALKTHROUGH)
    assert set(want.required) == {
        "Ready",
        "PresetsCombined",
        "WorkloadsReady",
        "RouterReady",
        "MainWorkloadReady",
        "HTTPRoutesReady",
        "InferencePoolReady",
        "SchedulerWorkloadReady",
    }
    # gateway: {} names no refs: KServe clears GatewaysReady (EvaluateGatewayConditions)
    assert {"GatewaysReady", "WorkerWorkloadReady", "ScalingReady", "GroupReady", "GroupDegraded"} <= set(want.absent)


def test_other_topologies_read_from_the_spec() -> None:
    spec = {"worker": {}, "prefill": {"worker": {}, "scaling": {"x": 1}}, "scaling": {"x": 1}}
    spec["router"] = {"gateway": {"refs": [{"name": "g"}]}, "route": {"group": "g", "weight": 1}}
    spec["router"]["scheduler"] = {"pool": {"ref": {"name": "mine"}}}
    assert contract.topology(spec) == {
        "multi-node",
        "prefill",
        "multi-node-prefill",
        "scaling",
        "prefill-scaling",
        "gateway-refs",
        "route",
        "routing-group",
    }


def test_the_docs_healthy_sample_keeps_the_contract(reference: Path) -> None:
    healthy = sample(reference, "Healthy service (single-node with scheduler)")
    assert contract.contract_problems(healthy, WITH_GATEWAY) == []
    autoscaled = sample(reference, "Healthy service with autoscaling (HPA)")
    assert contract.contract_problems(autoscaled, {"scaling": {"maxReplicas": 2}}) == []


def test_the_docs_failing_autoscaling_sample_names_the_condition_and_reason(reference: Path) -> None:
    failing = sample(reference, "Failing autoscaling (broken metrics pipeline)")
    problems = contract.contract_problems(failing, {"scaling": {"maxReplicas": 2}})
    assert any(p.startswith("ScalingReady=False (FailedGetExternalMetric: the HPA was unable") for p in problems)
    assert any(p.startswith("Ready=False (FailedGetExternalMetric") for p in problems), problems
    assert not any("conjunction" in p for p in problems), "the sample's rollup is consistent"


def test_a_ready_false_over_true_parts_breaks_the_rollup(reference: Path) -> None:
    broken = copy.deepcopy(sample(reference, "Healthy service (single-node with scheduler)"))
    ready = next(c for c in broken["status"]["conditions"] if c["type"] == "Ready")
    ready.update(status="False", reason="Stuck", message="never")
    problems = contract.contract_problems(broken, WITH_GATEWAY)
    assert "Ready=False (Stuck: never), expected True" in problems
    assert any(p.startswith("Ready=False (Stuck: never) while WorkloadsReady=True, RouterReady=True") for p in problems)


def test_a_true_aggregate_over_a_false_part_and_a_cleared_condition_are_named(reference: Path) -> None:
    broken = copy.deepcopy(sample(reference, "Healthy service (single-node with scheduler)"))
    conditions = broken["status"]["conditions"]
    next(c for c in conditions if c["type"] == "HTTPRoutesReady").update(status="False", reason="HTTPRoutesNotReady")
    problems = contract.contract_problems(broken, WALKTHROUGH)  # no gateway refs: GatewaysReady is cleared
    assert "HTTPRoutesReady=False (HTTPRoutesNotReady), expected True" in problems
    assert any(p.startswith("RouterReady=True while HTTPRoutesReady=False") for p in problems), problems
    assert any(p.startswith("GatewaysReady=True is present, but the spec configures no gateway-refs") for p in problems)
    del conditions[[c["type"] for c in conditions].index("MainWorkloadReady")]
    assert any(p.startswith("MainWorkloadReady is missing") for p in contract.contract_problems(broken, WITH_GATEWAY))


def test_the_docs_addresses_list_the_models_it_says(reference: Path) -> None:
    found = next(s for s in samples(reference) if isinstance(s, dict) and "addresses" in s)["addresses"]
    assert [contract.is_model_routing(a) for a in found] == [True, False]
    for address in found:
        assert contract.models_problem(address, "default", "facebook/opt-125m") is None
        assert contract.origin_problem(address) is None
    short_only = {**found[1], "models": [{"name": "facebook/opt-125m"}]}
    assert contract.models_problem(short_only, "default", "facebook/opt-125m") == (
        "address internal http://172.18.0.3/default/facebook-opt-125m-single lists models ['facebook/opt-125m'], "
        "without ['publishers/default/models/facebook/opt-125m']"
    )
    assert "no origin" in str(contract.origin_problem({**found[1], "origin": None}))


@pytest.mark.parametrize(
    ("url", "names", "problem"),
    [
        ("http://gw/ns/m/", ["internal"], None),
        ("http://gw/elsewhere", ["internal"], "status.url http://gw/elsewhere is none of the addresses' URLs"),
        (None, ["internal"], None),
        (None, ["gateway-external"], "status.url is not set, but the addresses include public ones"),
    ],
)
def test_status_url_is_one_of_the_addresses(url: str | None, names: list[str], problem: str | None) -> None:
    status = {"url": url, "addresses": [{"name": n, "url": "http://gw/ns/m"} for n in names]}
    found = contract.status_url_problem(status)
    assert (found or "").startswith(problem or "") and (found is None) == (problem is None), found


def test_disagreeing_names_ready_and_what_is_not_true(reference: Path) -> None:
    failing = sample(reference, "Failing autoscaling (broken metrics pipeline)")
    said = contract.disagreeing(failing)
    assert said.startswith("Ready=False (FailedGetExternalMetric: the HPA was unable to compute the replica count)")
    assert "ScalingReady=False" in said and "MainWorkloadReady" not in said
    assert contract.claims(sample(reference, "Healthy service (single-node with scheduler)")).startswith(
        "Ready=True, RouterReady=True, GatewaysReady=True, HTTPRoutesReady=True"
    )


def test_the_walkthrough_service_is_in_the_default_selection() -> None:
    """README command 1 deploys the walk-through's LLMInferenceService: the default selection has it."""
    from kserve_conformance.checks import catalog

    assert "llmisvc-opt-125m" in {e.id for e in catalog.services()}
    (entry,) = catalog.services("llmisvc-opt-125m")
    assert (entry.kind, entry.opt_in, entry.protocol) == ("LLMInferenceService", False, "openai")
    assert "llmisvc-opt-125m" in {e.id for e in catalog.services(every=True)}
