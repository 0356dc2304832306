"""The model server's metric defects, for the metrics checks' negative controls.

KServe's ``Model.__call__`` times each prediction with the module-level histogram
``kserve.model.PREDICT_HIST_TIME`` (``request_predict_seconds``, label ``model_name``), looked up
at call time; each fault replaces that one histogram (in the module and in prometheus_client's
registry), so everything else the server exports stays KServe's own.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

from kserve_local.faults import Fault

NAME = "request_predict_seconds"
RENAMED = "predict_latency_seconds"  # metrics-missing-series: the same histogram under another name
UNDERCOUNT_EVERY = 5  # metrics-undercount: every 5th prediction is not observed
COARSE_BUCKETS = (10.0, float("inf"))  # metrics-coarse-buckets: nothing below 10 s can be resolved
DOC = "predict request latency"


class _Undercounting:
    """A histogram's ``labels(...)`` whose ``time()`` skips every N-th observation."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, itertools.count(1)

    def labels(self, **labels: str) -> _Undercounting._Child:
        return _Undercounting._Child(self.real.labels(**labels), next(self.calls) % UNDERCOUNT_EVERY == 0)

    class _Child:
        def __init__(self, real: Any, skip: bool) -> None:
            self.real, self.skip = real, skip

        @contextlib.contextmanager
        def time(self) -> Iterator[None]:
            if self.skip:
                yield
                return
            with self.real.time():
                yield


class _PerRequest:
    """A histogram with a ``request_id`` label besides ``model_name``: one new series per request."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def labels(self, **labels: str) -> Any:
        return self.real.labels(**labels, request_id=str(uuid.uuid4()))


def install(faults: frozenset[Fault]) -> None:
    """Replace KServe's predict histogram as the faults say; nothing happens without one."""
    wanted = {
        Fault.METRICS_UNDERCOUNT,
        Fault.METRICS_REQUEST_ID_LABEL,
        Fault.METRICS_MISSING_SERIES,
        Fault.METRICS_COARSE_BUCKETS,
    }
    if not faults & wanted:
        return
    import kserve.model
    from prometheus_client import REGISTRY, Histogram

    REGISTRY.unregister(kserve.model.PREDICT_HIST_TIME)
    replacement: Any
    if Fault.METRICS_MISSING_SERIES in faults:
        replacement = Histogram(RENAMED, DOC, ["model_name"])
    elif Fault.METRICS_REQUEST_ID_LABEL in faults:
        replacement = _PerRequest(Histogram(NAME, DOC, ["model_name", "request_id"]))
    elif Fault.METRICS_COARSE_BUCKETS in faults:
        replacement = Histogram(NAME, DOC, ["model_name"], buckets=COARSE_BUCKETS)
    else:
        replacement = _Undercounting(Histogram(NAME, DOC, ["model_name"]))
    kserve.model.PREDICT_HIST_TIME = replacement
