"""The local target's autoscalers decide as Knative's KPA and the HPA do, on measured inputs."""

from __future__ import annotations

import pytest

from kserve_local.knative.autoscaler import Hpa, KnativeConfig, Kpa, Scaling, duration_s

CONFIG = KnativeConfig.of({"stable-window": "60s", "scale-to-zero-grace-period": "6s"})


@pytest.mark.parametrize(("text", "seconds"), [("6s", 6), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600)])
def test_durations_read_as_go_writes_them(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "6", "6 s", "s6", "1x"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_s(text)


def test_kserve_defaults() -> None:
    knative = Scaling.of({}, {}, {}, standard=False)
    assert (knative.min_replicas, knative.metric, knative.target) == (1, "concurrency", None)
    assert Scaling.of({}, {}, {}, standard=True).metric == "cpu"
    assert Scaling.of({}, {"resources": {"requests": {"cpu": "100m"}}}, {}, standard=True).cpu_request == 0.1


def kpa(**predictor: object) -> Kpa:
    return Kpa(Scaling.of(predictor, {}, {"autoscaling.knative.dev/window": "6s"}, standard=False))


def test_concurrency_above_target_scales_up_to_the_maximum() -> None:
    scaler = kpa(scaleTarget=1, maxReplicas=3)
    for t in range(10):
        scaler.observe(t * 0.5, 4.0)
    assert scaler.desired(5.0, 1, CONFIG) == 3  # ceil(4 / (1 * 70 %)) = 6, bounded by maxReplicas


def test_idle_revision_keeps_min_replicas() -> None:
    scaler = kpa(scaleTarget=1, minReplicas=1)
    for t in range(20):
        scaler.observe(t * 0.5, 0.0)
    assert scaler.desired(10.0, 2, CONFIG) == 1


def test_scale_to_zero_waits_for_the_grace_period() -> None:
    scaler = kpa(minReplicas=0)
    scaler.observe(0.0, 0.0)
    assert scaler.desired(0.0, 1, CONFIG) == 1, "idle, but the grace period has not passed"
    assert scaler.desired(5.9, 1, CONFIG) == 1
    assert scaler.desired(6.0, 1, CONFIG) == 0


def test_traffic_resets_the_idle_clock() -> None:
    scaler = kpa(minReplicas=0, scaleTarget=1)
    scaler.desired(0.0, 1, CONFIG)
    scaler.observe(3.0, 0.5)
    assert scaler.desired(7.0, 1, CONFIG) == 1
    assert scaler.idle_since is None


def test_scale_to_zero_disabled_cluster_wide_keeps_one() -> None:
    config = KnativeConfig.of({"enable-scale-to-zero": "false", "scale-to-zero-grace-period": "6s"})
    scaler = kpa(minReplicas=0)
    assert scaler.desired(0.0, 1, config) == 1
    assert scaler.desired(100.0, 1, config) == 1


def hpa(target: float = 50, request: str = "1") -> Hpa:
    scaling = Scaling.of(
        {"scaleMetric": "cpu", "scaleTarget": target, "maxReplicas": 3},
        {"resources": {"requests": {"cpu": request}}},
        {},
        standard=True,
    )
    return Hpa(scaling, downscale_stabilization_s=15)


def test_hpa_scales_by_utilization_of_the_request() -> None:
    assert hpa(request="100m").desired(0.0, 1, [40.0]) == 3  # 400 % of 100m against 50 %: bounded by 3
    assert hpa().desired(0.0, 1, [100.0]) == 2


def test_hpa_tolerance_keeps_the_count() -> None:
    assert hpa().desired(0.0, 2, [52.0, 54.0]) == 2


def test_hpa_scale_down_waits_for_the_stabilization_window() -> None:
    scaler = hpa()
    assert scaler.desired(0.0, 1, [100.0]) == 2
    assert scaler.desired(1.0, 2, [0.0, 0.0]) == 2, "the window still holds the recommendation of 2"
    assert scaler.desired(16.0, 2, [0.0, 0.0]) == 1
