"""The local target's canary rules walk KServe's documented rollout: canary, promotion, rollback.

The expected states are the ones KServe's canary example shows (``kubectl get isvc``'s PREV and
LATEST columns, the rolled-out revisions), so the local target reports what a cluster would.
"""

from __future__ import annotations

from kserve_local.knative.traffic import Rollout, Target, settle

A, B, C = "iris-predictor-00001", "iris-predictor-00002", "iris-predictor-00003"


def test_first_revision_is_rolled_out_with_all_traffic() -> None:
    traffic, rollout = settle(None, A, A, Rollout())
    assert traffic == [Target(A, 100, True)]
    assert rollout == Rollout(A, "")


def test_canary_splits_between_latest_ready_and_rolled_out() -> None:
    traffic, rollout = settle(10, B, B, Rollout(A, ""))
    assert traffic == [Target(B, 10, True, "latest"), Target(A, 90, False, "prev")]
    assert rollout == Rollout(A, ""), "a canary is not rolled out"


def test_a_canary_still_starting_gets_no_traffic() -> None:
    """``latestRevision`` follows the latest *ready* revision: both shares stay on A."""
    traffic, rollout = settle(10, A, B, Rollout(A, ""))
    assert {t.revision for t in traffic} == {A}
    assert sum(t.percent for t in traffic) == 100
    assert rollout == Rollout(A, "")


def test_promotion_rolls_out_the_canary_and_remembers_the_previous() -> None:
    traffic, rollout = settle(None, B, B, Rollout(A, ""))
    assert traffic == [Target(B, 100, True)]
    assert rollout == Rollout(B, A)


def test_rollback_after_promotion_pins_the_previous_revision() -> None:
    """canaryTrafficPercent: 0 after a promotion: two reconciles, then A has 100 %."""
    traffic, rollout = settle(0, B, B, Rollout(B, A))
    assert traffic == [Target(B, 0, True, "latest"), Target(A, 100, False, "prev")]
    assert rollout == Rollout(A, A)


def test_rollback_during_the_canary_pins_the_rolled_out_revision() -> None:
    traffic, _ = settle(0, B, B, Rollout(A, ""))
    assert traffic == [Target(B, 0, True, "latest"), Target(A, 100, False, "prev")]


def test_promoting_again_after_a_rollback() -> None:
    traffic, rollout = settle(None, B, B, Rollout(A, A))
    assert traffic == [Target(B, 100, True)]
    assert rollout == Rollout(B, A)


def test_a_new_canary_after_promotion_splits_against_the_new_rolled_out_revision() -> None:
    traffic, rollout = settle(20, C, C, Rollout(B, A))
    assert traffic == [Target(C, 20, True, "latest"), Target(B, 80, False, "prev")]
    assert rollout == Rollout(B, A)
