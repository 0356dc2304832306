"""Operator checks: KServe as the "complex AI operator with a CRD" of CNCF AI Conformance's
``robust_controller`` requirement: its controller's pods run, its webhooks answer.

The webhooks are shown InferenceServices by server-side dry run only (``dryRun=All``), in the
run's own namespace: the API server runs every admission step and stores nothing, so no invalid
object is ever created on the cluster. That custom resources are reconciled is what the
control-plane checks show (test_control_plane.py: Ready, conditions, observedGeneration).
"""

from __future__ import annotations

import json
from typing import Any

import allure
import pytest

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.spec import EXTENDED, conformance, not_applicable
from kserve_conformance.cluster.admission import NotVisible, dry_run_create, field_at, find_controller, unready
from kserve_conformance.cluster.kube import InferenceServices
from kserve_conformance.fixtures.cluster import Cluster
from kserve_conformance.plugin import config as suite_config

OPERATOR = load_yaml(DATA / "operator.yaml")
CONTROLLER = OPERATOR["controller"]
INVALID = OPERATOR["invalid"]
ROBUST_CONTROLLER = (
    "\"This includes verifying that the operator's pods run correctly, its webhooks are operational, "
    'and its custom resources can be reconciled."'
)


@pytest.fixture(scope="module")
def operator_cluster(request: pytest.FixtureRequest) -> Cluster:
    """The session's cluster; *not applicable* with --kserve-endpoint, where there is no API to ask."""
    if suite_config.of(request.config).endpoint:
        not_applicable("--kserve-endpoint runs the data-plane checks only; there is no cluster API to ask")
    cluster: Cluster = request.getfixturevalue("kserve_cluster")
    return cluster


@conformance(
    "ControllerReady",
    "The KServe controller manager's pods (behind the Service the InferenceService validating "
    "webhook calls, else labelled control-plane=kserve-controller-manager in kserve or kubeflow) "
    "exist and are all Running and Ready.",
    spec=ROBUST_CONTROLLER,
    level=EXTENDED,
)
def test_controller_ready(operator_cluster: Cluster) -> None:
    try:
        found = find_controller(
            operator_cluster.api,
            CONTROLLER["validatingWebhookConfiguration"],
            CONTROLLER["validatingWebhook"],
            CONTROLLER["labelSelector"],
            CONTROLLER["namespaces"],
        )
    except NotVisible as err:
        not_applicable(str(err))
    with allure.step(f"KServe controller: {found.found_by}: {', '.join(found.names()) or 'none'}"):
        assert found.pods, f"no KServe controller pod found: {found.found_by}"
        problems = {name: why for name, pod in zip(found.names(), found.pods, strict=True) if (why := unready(pod))}
        assert not problems, "KServe controller pod not Ready: " + "; ".join(f"{n}: {w}" for n, w in problems.items())


@pytest.mark.parametrize("case", INVALID, ids=[c["id"] for c in INVALID])
@conformance(
    "ValidatingWebhook",
    "KServe's validating webhook refuses an invalid InferenceService at admission (server-side dry "
    "run) with a reason naming the defect, and admits a valid one by the same dry run.",
    spec=ROBUST_CONTROLLER,
    level=EXTENDED,
)
def test_validating_webhook(operator_cluster: Cluster, kserve_namespace: str, case: dict[str, Any]) -> None:
    valid = OPERATOR["valid"]
    with allure.step("control: a valid InferenceService, dry run"):
        control = dry_run_create(operator_cluster.api, kserve_namespace, valid)
        if not control.admitted and control.code == 403 and not control.by_webhook:
            not_applicable(f"this user may not create InferenceServices in {kserve_namespace}: {control.message}")
        assert control.admitted, (
            f"a valid InferenceService was not admitted by dry run, so the webhooks cannot be judged: "
            f"{control.describe()}"
        )
    invalid = InferenceServices.merge_patch(valid, case["patch"])
    with allure.step(f"{case['id']}: {case['defect']}, dry run"):
        verdict = dry_run_create(operator_cluster.api, kserve_namespace, invalid)
        allure.attach(json.dumps(invalid, indent=2), "sent", allure.attachment_type.JSON)
    assert not verdict.admitted, f"the API server admitted an InferenceService with {case['defect']}"
    assert verdict.by_webhook, (
        f"the InferenceService with {case['defect']} was refused, but not by an admission webhook: {verdict.describe()}"
    )
    assert case["reason"] in verdict.message, (
        f"the webhook refused the InferenceService with {case['defect']}, but its reason does not name "
        f"the defect (expected {case['reason']!r}): {verdict.message}"
    )


@conformance(
    "DefaultingWebhook",
    "KServe's defaulting webhook rewrites a predictor's framework field (sklearn) into model with "
    "that modelFormat, as every release from 0.15 does: seen in a server-side dry run's answer.",
    spec=ROBUST_CONTROLLER,
    level=EXTENDED,
)
def test_defaulting_webhook(operator_cluster: Cluster, kserve_namespace: str) -> None:
    verdict = dry_run_create(operator_cluster.api, kserve_namespace, OPERATOR["valid"])
    if not verdict.admitted and verdict.code == 403 and not verdict.by_webhook:
        not_applicable(f"this user may not create InferenceServices in {kserve_namespace}: {verdict.message}")
    assert verdict.stored is not None, f"the minimal InferenceService was not admitted: {verdict.describe()}"
    stored = verdict.stored
    allure.attach(json.dumps(stored, indent=2), "as the API server would store it", allure.attachment_type.JSON)
    expected = OPERATOR["defaulted"]
    wrong = {
        path: field_at(stored, path) for path, value in expected["present"].items() if field_at(stored, path) != value
    }
    kept = [path for path in expected["absent"] if field_at(stored, path) is not None]
    assert not wrong and not kept, (
        "the defaulting webhook did not rewrite spec.predictor.sklearn into spec.predictor.model: "
        + "; ".join(
            [f"{p} is {v!r}, expected {expected['present'][p]!r}" for p, v in wrong.items()]
            + [f"{p} is still present" for p in kept]
        )
        + f" (spec.predictor as admitted: {json.dumps(stored.get('spec', {}).get('predictor'))})"
    )
