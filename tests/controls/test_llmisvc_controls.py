"""LLMInferenceService negative controls: the llmisvc checks pass on the local target and fail on it broken.

The family is opt-in (``--kserve-services=llmisvc-opt-125m``) and each run starts vLLM, so the
faults share runs where they break different checks: an HTTPRoute without backends behind a Ready
status (kserve/kserve#5385) fails the walk-through's completion and the status's honesty, and
addresses that omit the served model's short name, or name a port nothing listens on (status.url
left right, so no longer one of them), fail the addresses check, a conversion that loses the
labels in v1alpha1 fails the conversion check and a stop annotation the controller ignores fails
the stop check (after the delete timeout; the service stays up, so no restart is paid), in one
run, whose other checks neither fault touches (the conversion check stops at the disagreement,
before its write); a Ready
that stays False while the data plane answers (kserve/kserve#5986) fails the contract and the
honesty the other way, in its own run (it waits out the ready timeout, so that is kept short).
The prefix checks need two workload pods: the healthy run deploys two replicas (both pass), and
an endpoint picker that hands endpoints out in turn with vLLM started without prefix caching
fails them in a run that selects only them and the model-routing check, which a gateway ignoring
HTTPRoute header matches fails there (it routes requests naming no served model to the model).
"""

from __future__ import annotations

import pytest

from tests.controls.runner import Run, run_suite

pytestmark = [pytest.mark.generative, pytest.mark.vllm]

SELECT = ("--kserve-services=llmisvc-opt-125m", "--kserve-consistency-timeout=10")
# "-k test_llmisvc": the llmisvc modules' checks, not the openai family's, whose ids name the service
# too (they run through its URL); the openai checks have their own controls (test_openai_controls.py).
# Not the traffic split's (test_llmisvc_split.py): it needs its own group of two services
# (llmisvc-canary), so it has runs of its own (test_llmisvc_split_controls.py).
CHECKS = "test_llmisvc and not llmisvc_split"
ROUTING = (
    "llmisvc-route-no-backends+llmisvc-models-missing+llmisvc-address-unreachable"
    "+llmisvc-conversion-lossy+llmisvc-stop-ignored"
)
NEVER = "llmisvc-ready-never"
# A picker that hands endpoints out in turn, and workload pods started without prefix caching: they
# break only the prefix checks, which cannot run in ROUTING (its HTTPRoute has no backends), so
# they have a run of their own with only those checks selected (one start of two vLLM pods). A
# gateway that ignores HTTPRoute header matches shares it: it breaks only the model-routing check
# (the prefix checks send no routing header), which ROUTING's backendless route and unreachable
# addresses would fail before its misroute count, and neither prefix fault touches it.
PREFIX = "llmisvc-picker-prefix-blind+llmisvc-prefix-caching-off+llmisvc-header-match-ignored"
# (faults joined by "+", check by short name, words its failure must contain)
CONTROLS = [
    (ROUTING, "LLMISVCWalkthrough", "the walk-through's completion via status.url"),
    (ROUTING, "LLMISVCAddresses", "without ['facebook/opt-125m']"),
    (ROUTING, "LLMISVCAddresses", "is none of the addresses' URLs"),
    (ROUTING, "LLMISVCAddresses", "transport error ConnectionError"),
    (ROUTING, "LLMISVCStatusHonesty", "say the service accepts traffic, but within 10s"),
    (ROUTING, "LLMISVCConversion", "disagree on fields both versions have: metadata.labels."),
    (ROUTING, "LLMISVCStop", 'serving.kserve.io/stop: "true" did not stop the service'),
    (NEVER, "LLMISVCReadyContract", "MainWorkloadReady=False"),
    (NEVER, "LLMISVCStatusHonesty", "but Ready was still not True"),
    (PREFIX, "LLMISVCPrefixRouting", "the endpoint picker spread 5 requests sharing a prefix over the pods (3 of 5"),
    (PREFIX, "LLMISVCPrefixCache", "prefix caching is off on"),
    (PREFIX, "LLMISVCModelRouting", "no rule of the service matches to the model: 300 of 300 wrong-header requests"),
]
READY_TIMEOUT = {"": 600, ROUTING: 600, NEVER: 300, PREFIX: 600}
# What a run selects besides SELECT (default: every llmisvc check, one replica): the healthy run
# deploys two replicas, so that the prefix routing check has a pod to choose and passes.
RUN_ARGS = {
    "": ("--kserve-llmisvc-replicas=2", "-k", CHECKS),
    PREFIX: ("--kserve-llmisvc-replicas=2", "-k", "llmisvc_prefix or llmisvc_model_routing"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """One suite run per fault set (the empty one: the healthy target), made when first asked for."""
    cache: dict[str, Run] = {}

    def run(faults: str) -> Run:
        if faults not in cache:
            cache[faults] = run_suite(
                tmp_path_factory.mktemp("llmisvc"),
                *SELECT,
                f"--kserve-ready-timeout={READY_TIMEOUT[faults]}",
                *(f"--kserve-local-fault={f}" for f in faults.split("+") if f),
                *RUN_ARGS.get(faults, ("-k", CHECKS)),
                timeout_s=1200,
            )
        return cache[faults]

    return run  # type: ignore[return-value]


def test_the_healthy_target_passes_every_llmisvc_check(runs) -> None:
    run = runs("")
    ran = {v.check: v for v in run.verdicts.values() if v.check.startswith("LLMISVC")}
    assert set(ran) == {c for _, c, _ in CONTROLS}, f"{sorted(ran)}\n{run.output[-3000:]}"
    assert all(v.outcome == "passed" for v in ran.values()), {k: v.message[:1500] for k, v in ran.items()}
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.parametrize(
    ("fault", "check", "words"), CONTROLS, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(CONTROLS)]
)
def test_llmisvc_check_fails_naming_the_defect(runs, fault: str, check: str, words: str) -> None:
    verdict = runs(fault).failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"
