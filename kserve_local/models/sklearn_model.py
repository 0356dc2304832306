"""The scikit-learn model the local model server serves, as KServe's sklearnserver loads it.

A module of its own, at top level, so that the class is importable by name: KServe's
multiprocess server (``--workers N``) unpickles the model in spawned workers. The reconciler
refuses ``--workers`` above 1 today (those workers respawn in a loop here); the class stays
picklable so that honouring it needs no change here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import joblib
import kserve
from kserve.errors import InvalidInput
from kserve.utils.utils import get_predict_input, get_predict_response

from kserve_local.faults import Fault
from kserve_local.models.loading import ModelLoadError, find_model_file


class SKLearnModel(kserve.Model):  # type: ignore[misc]  # kserve ships no type information: Model is Any
    def __init__(self, name: str, model_dir: Path, faults: frozenset[Fault]) -> None:
        super().__init__(name)
        self.model_dir, self.faults = model_dir, faults

    def load(self) -> bool:
        path = find_model_file(self.model_dir)
        try:
            self._model = joblib.load(path)
        except Exception as err:
            raise ModelLoadError(f"cannot load {path}: {err}") from err
        self.ready = True  # a model that failed to load never serves: ModelServer would refuse it
        return self.ready

    async def healthy(self) -> bool:
        # What readiness endpoints ask; predict skips it, like a service that 404s right after Ready.
        return Fault.MODEL_NOT_READY not in self.faults

    async def preprocess(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
        # kserve 0.21 hands a body without a JSON content type (what `curl -d` sends) to the
        # model as raw bytes; the tutorial-era server parsed it as JSON, and so do we.
        if isinstance(payload, bytes | bytearray):
            try:
                return json.loads(payload)
            except ValueError as err:
                raise InvalidInput(f"Unrecognized request format: {err}") from err
        return payload

    def predict(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
        if Fault.SERVER_ERROR in self.faults:
            raise RuntimeError("fault injected: server-error")
        instances = get_predict_input(payload)
        # KServe's sklearnserver answers class probabilities when the container's environment says
        # PREDICT_PROBA=true: a canary revision is told apart by its answers this way.
        if os.environ.get("PREDICT_PROBA", "false").lower() == "true" and hasattr(self._model, "predict_proba"):
            result = self._model.predict_proba(instances)
        else:
            result = self._model.predict(instances)
        if Fault.WRONG_PREDICTION in self.faults:
            result = (result + 1) % 3
        return get_predict_response(payload, result, self.name)
