"""The model server's metric defects, for the metrics checks' negative controls.

KServe's ``Model.__call__`` times each step with module-level histograms
(``kserve.model.PREDICT_HIST_TIME`` is ``request_predict_seconds``, label ``model_name``), looked
up at call time; each fault replaces one histogram (in the module and in prometheus_client's
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
MISSING = "request_preprocess_seconds"  # metrics-missing-series: this documented histogram is not exported
PRE_DOC = "pre-process request latency"
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
    """Replace KServe's histograms as the faults say; nothing happens without one. The predict
    faults combine (one histogram that undercounts, keys by request and has one bucket), so one
    control run covers them; the missing series is another histogram, the preprocess one."""
    import kserve.model
    from prometheus_client import REGISTRY, Histogram

    if Fault.METRICS_MISSING_SERIES in faults:
        REGISTRY.unregister(kserve.model.PRE_HIST_TIME)
        kserve.model.PRE_HIST_TIME = Histogram(MISSING, PRE_DOC, ["model_name"], registry=None)
    predict = {Fault.METRICS_UNDERCOUNT, Fault.METRICS_REQUEST_ID_LABEL, Fault.METRICS_COARSE_BUCKETS} & faults
    if not predict:
        return
    REGISTRY.unregister(kserve.model.PREDICT_HIST_TIME)
    labels = ["model_name", "request_id"] if Fault.METRICS_REQUEST_ID_LABEL in faults else ["model_name"]
    buckets = COARSE_BUCKETS if Fault.METRICS_COARSE_BUCKETS in faults else Histogram.DEFAULT_BUCKETS
    replacement: Any = Histogram(NAME, DOC, labels, buckets=buckets)
    if Fault.METRICS_REQUEST_ID_LABEL in faults:
        replacement = _PerRequest(replacement)
    if Fault.METRICS_UNDERCOUNT in faults:
        replacement = _Undercounting(replacement)
    kserve.model.PREDICT_HIST_TIME = replacement
