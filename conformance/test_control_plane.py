"""Control-plane checks: the walk-through's steps 2-3 (docs/walkthrough.md: apply, Ready, URLs), judged from
the cluster's own config.
"""

from __future__ import annotations

import allure
import pytest

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, not_supported
from kserve_conformance.cluster.kube import conditions, differences
from kserve_conformance.cluster.urls import KNATIVE
from kserve_conformance.fixtures.owned import AppliedService, DeployedService

# Every check here reads the InferenceService object: not applicable in --kserve-endpoint mode.
pytestmark = pytest.mark.usefixtures("kserve_applied_service")
CONDITIONS = load_yaml(DATA / "conditions.yaml")
KNATIVE_CONDITIONS = CONDITIONS["extended"][KNATIVE]


@conformance(
    "ManifestAppliesVerbatim",
    "The manifest is accepted as written and every field it sets is "
    "stored unchanged (defaulting may add fields, never change or drop them).",
)
def test_manifest_applies_verbatim(kserve_applied_service: AppliedService) -> None:
    sent = kserve_applied_service.manifest["spec"]
    stored = kserve_applied_service.created.get("spec", {})
    rewritten = kserve_applied_service.sent["spec"]  # after --kserve-storage-uri-map, which is the user's own choice
    changes = list(differences(rewritten, stored, "spec"))
    assert not changes, "the API server changed the manifest on apply: " + "; ".join(changes)
    assert sent.keys() == rewritten.keys()


@pytest.mark.parametrize("condition", CONDITIONS["core"])
@conformance(
    "ReadyConditions",
    "Once Ready, the service reports Ready, PredictorReady and IngressReady "
    "as True (Ready = PredictorReady ∧ IngressReady).",
)
def test_ready_conditions(kserve_service: DeployedService, condition: str) -> None:
    found = conditions(kserve_service.current())
    assert condition in found, (
        f"condition {condition} missing from status.conditions (present: {sorted(found) or 'none'})"
    )
    assert found[condition]["status"] == "True", f"condition {condition} is {found[condition]['status']}, expected True"


@pytest.mark.parametrize("condition", KNATIVE_CONDITIONS)
@conformance(
    "KnativeConditions",
    "In Knative mode the Knative route and configuration conditions are reported True.",
    level=EXTENDED,
    features=(Feature.KNATIVE,),
)
def test_knative_conditions(kserve_service: DeployedService, condition: str) -> None:
    if kserve_service.mode != KNATIVE:
        not_supported(Feature.KNATIVE, f"the service runs in {kserve_service.mode} mode")
    found = conditions(kserve_service.current())
    assert condition in found, f"condition {condition} missing (present: {sorted(found)})"
    assert found[condition]["status"] == "True", f"condition {condition} is {found[condition]['status']}"


@conformance(
    "ObservedGeneration",
    "status.observedGeneration reaches metadata.generation: the status describes the spec that was applied.",
)
def test_observed_generation(kserve_service: DeployedService) -> None:
    current = kserve_service.current()
    generation = current["metadata"].get("generation")
    observed = current.get("status", {}).get("observedGeneration")
    assert observed == generation, f"status.observedGeneration is {observed}, metadata.generation is {generation}"


@conformance("StatusURL", "status.url has the host the cluster's deployment mode and domain template prescribe.")
def test_status_url(kserve_service: DeployedService) -> None:
    url = kserve_service.current().get("status", {}).get("url")
    with allure.step(f"expect {kserve_service.expected.url} ({kserve_service.mode} mode)"):
        assert url == kserve_service.expected.url, (
            f"status.url is {url!r}, but {kserve_service.mode} mode with this cluster's configuration gives "
            f"{kserve_service.expected.url!r}"
        )


@conformance("AddressURL", "status.address.url is the in-cluster address for the deployment mode.")
def test_address_url(kserve_service: DeployedService) -> None:
    address = kserve_service.current().get("status", {}).get("address", {}).get("url")
    assert address == kserve_service.expected.address_url, (
        f"status.address.url is {address!r}, expected {kserve_service.expected.address_url!r} "
        f"for {kserve_service.mode} mode"
    )


@conformance(
    "LatestRevisionTraffic",
    "In Knative mode all traffic goes to the latest ready revision.",
    level=EXTENDED,
    features=(Feature.KNATIVE,),
)
def test_latest_revision_traffic(kserve_service: DeployedService) -> None:
    if kserve_service.mode != KNATIVE:
        not_supported(Feature.KNATIVE, f"the service runs in {kserve_service.mode} mode")
    predictor = kserve_service.current().get("status", {}).get("components", {}).get("predictor", {})
    traffic = predictor.get("traffic", [])
    latest = [t for t in traffic if t.get("latestRevision")]
    assert latest, f"no traffic target marked latestRevision in status.components.predictor.traffic: {traffic}"
    assert sum(t.get("percent", 0) for t in latest) == 100, f"latest revision does not get 100% of traffic: {traffic}"
