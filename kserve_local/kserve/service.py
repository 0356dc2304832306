"""What the controller remembers of one InferenceService between reconciles: its revisions and traffic."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kserve_local.apiserver.store import Obj
from kserve_local.knative.revision import Revision
from kserve_local.knative.traffic import Rollout, Target
from kserve_local.kserve.config import Mode

# Annotations that are not part of the revision template (kubectl's own bookkeeping).
NOT_TEMPLATE_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}


def revision_template(isvc: Obj) -> dict[str, Any]:
    """What makes a new revision: the predictor spec except ``canaryTrafficPercent``, and the
    annotations KServe propagates to the revision template."""
    predictor = copy.deepcopy(isvc["spec"].get("predictor", {}))
    predictor.pop("canaryTrafficPercent", None)
    annotations = {
        k: v for k, v in (isvc["metadata"].get("annotations") or {}).items() if k not in NOT_TEMPLATE_ANNOTATIONS
    }
    return {"predictor": predictor, "annotations": annotations}


@dataclass(eq=False)
class Service:
    """One InferenceService's revisions and where its traffic goes."""

    namespace: str
    name: str
    mode: Mode
    revisions: dict[str, Revision] = field(default_factory=dict)
    latest_created: Revision | None = None
    latest_ready: Revision | None = None
    rollout: Rollout = field(default_factory=Rollout)
    traffic: list[Target] = field(default_factory=list)
    degraded: bool = False  # a crash took the serving revision's last replica; Ready goes back once it answers
    next_number: int = 1

    def routed(self) -> list[tuple[Target, Revision]]:
        return [(t, self.revisions[t.revision]) for t in self.traffic if t.revision in self.revisions]
