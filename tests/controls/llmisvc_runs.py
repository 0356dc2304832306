"""The LLMInferenceService controls' suite runs, shared by the three files that judge them.

The family's faults share runs where they break different checks (``CONTROLS`` says which run
each control reads), and each run starts vLLM, so there are four: the healthy target, ROUTING,
NEVER and PREFIX. They live in three files (``test_llmisvc_controls.py`` the healthy run and
ROUTING, ``test_llmisvc_never_controls.py`` NEVER, ``test_llmisvc_prefix_controls.py`` PREFIX) so
that pytest-xdist's ``--dist loadfile`` gives them three workers: in one file they took about
15 minutes of one worker, longer than the rest of CI's parallel pass.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.controls.runner import Run, run_suite

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
# ROUTING and NEVER judge test_llmisvc.py's checks only: the prefix and model-routing checks cannot
# judge a route without backends (their requests fail first), and selected there they only spent
# their timeouts (ROUTING took 636 s in one CI pass instead of about 220).
WALKTHROUGH_CHECKS = f"{CHECKS} and not llmisvc_prefix and not llmisvc_model_routing"
RUN_ARGS = {
    "": ("--kserve-llmisvc-replicas=2", "-k", CHECKS),
    PREFIX: ("--kserve-llmisvc-replicas=2", "-k", "llmisvc_prefix or llmisvc_model_routing"),
}


def for_run(faults: str) -> list[tuple[str, str, str]]:
    """The controls that read the run of ``faults``."""
    return [c for c in CONTROLS if c[0] == faults]


def make_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """One suite run per fault set (the empty one: the healthy target), made when first asked for."""
    cache: dict[str, Run] = {}

    def run(faults: str) -> Run:
        if faults not in cache:
            cache[faults] = run_suite(
                tmp_path_factory.mktemp("llmisvc"),
                *SELECT,
                f"--kserve-ready-timeout={READY_TIMEOUT[faults]}",
                *(f"--kserve-local-fault={f}" for f in faults.split("+") if f),
                *RUN_ARGS.get(faults, ("-k", WALKTHROUGH_CHECKS)),
                timeout_s=1200,
            )
        return cache[faults]

    return run


def assert_fails_naming(run: Run, check: str, words: str) -> None:
    verdict = run.failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"
