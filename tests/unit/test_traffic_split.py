"""The traffic-split verdict's arithmetic (``checks/traffic_split.py``), against values worked by hand."""

from __future__ import annotations

from kserve_conformance.checks import traffic_split as ts


def test_a_nine_to_one_split_as_due_passes_and_an_even_one_fails() -> None:
    weights = {"v1": 9, "v2": 1}
    due = ts.judge({"v1": 270, "v2": 30}, weights)
    assert [round(c.expected) for c in due] == [270, 30]
    assert all(c.p_value > 0.5 for c in due)
    even = ts.judge({"v1": 150, "v2": 150}, weights)
    assert all(c.p_value < 1e-30 for c in even)
    assert even[1].describe().startswith("v2 got 150 of 300 (expected 30; p=")


def test_the_exact_test_s_tails_at_the_edge_of_alpha() -> None:
    """Binomial(300, 0.1) at alpha 0.001: 13 and 49 are rejected, 14 and 48 kept (p 0.00101, 0.00137)."""
    p = {k: ts.binomial_p_value(k, 300, 0.1) for k in (13, 14, 48, 49)}
    assert p[13] < 0.001 and p[49] < 0.001
    assert p[14] > 0.001 and p[48] > 0.001


def test_a_zero_share_allows_no_request() -> None:
    assert ts.binomial_p_value(0, 299, 0.0) == 1.0
    assert ts.binomial_p_value(1, 299, 0.0) == 0.0


def test_weights_are_written_as_the_guide_writes_them() -> None:
    assert ts.weights_text({"my-model-v1": 9, "my-model-v2": 1}) == "9:1 (my-model-v1:my-model-v2)"
