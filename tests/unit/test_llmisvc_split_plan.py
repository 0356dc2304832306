"""The traffic-split check's data and bookkeeping: its plan, the group status it reads, and when a
burst's counts may be judged (``fixtures/llmisvc_split.py``, ``cluster/llmisvc_group.py``)."""

from __future__ import annotations

from kserve_conformance.checks import catalog, statistics
from kserve_conformance.cluster import llmisvc_group as group
from kserve_conformance.fixtures import llmisvc_split as split


def test_the_catalog_entry_is_the_guide_s_two_versions_and_its_plan_loads() -> None:
    (entry,) = catalog.services("llmisvc-canary")
    assert (entry.kind, entry.opt_in) == (split.GROUP_KIND, True)
    assert "llmisvc-canary" not in {e.id for e in catalog.services()}, "opt-in: not in the default selection"
    members = split.load_members(entry.manifest_text)
    weights = {m["metadata"]["name"]: m["spec"]["router"]["route"]["weight"] for m in members}
    plan = split.Plan.of(entry.payloads)
    assert weights == plan.weights == {"my-model-v1": 9, "my-model-v2": 1}
    assert {m["spec"]["router"]["route"]["group"] for m in members} == {"my-model"}
    assert statistics.samples_to_detect(plan.misroute_rate, plan.confidence) == 299


def test_the_group_status_is_read_with_stopped_members() -> None:
    obj = {
        "status": {
            "router": {
                "group": {
                    "name": "my-model",
                    "members": [{"name": "v1", "weight": 9, "stopped": True}, {"name": "v2", "weight": 9}],
                }
            }
        }
    }
    view = group.group_view(obj)
    assert view.weights == {"v1": 9, "v2": 9} and view.stopped == {"v1"}
    assert view.describe() == "group my-model: v1 9 (stopped), v2 9"
    assert group.group_view({}).describe() == "group (none): no members"


def test_counts_are_judged_only_when_every_answer_is_accounted_for() -> None:
    whole = split.Measured(300, 300, [], {"v1": 270, "v2": 30}, {"v1": ["p1"], "v2": ["p2"]})
    assert whole.unexplained() is None
    extra = split.Measured(300, 300, [], {"v1": 275, "v2": 30}, {"v1": ["p1"], "v2": ["p2"]})
    assert "grew by 305 (v1 275, v2 30) for 300 answered" in (extra.unexplained() or "")
    unread = split.Measured(300, 300, [], {"v1": 270, "v2": None}, {"v1": ["p1"], "v2": []}, ["v2: no Ready pod"])
    assert "no v2 request counter was read" in (unread.unexplained() or "")
