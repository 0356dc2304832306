"""The tutorial's model, rebuilt offline.

The tutorial serves ``gs://kfserving-examples/models/sklearn/1.0/model``, which cannot be fetched
here (no network) and need not be: it is an SVC on the iris data set, like KServe's own sample.
This trains the same kind of model, deterministically, on the copy of iris that scikit-learn
ships, so the local target answers the tutorial's request with the tutorial's ``[1, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
from sklearn.datasets import load_iris
from sklearn.svm import SVC

MODEL_FILE = "model.joblib"


def train() -> SVC:
    iris = load_iris()
    return SVC(gamma="scale", random_state=0).fit(iris.data, iris.target)


def build_iris_model(dest: Path) -> Path:
    """Write ``dest/model.joblib`` once; later calls reuse it. Returns the model directory."""
    return save_once(dest, train)


def save_once(dest: Path, train_model: Callable[[], Any]) -> Path:
    """``dest/model.joblib`` from ``train_model()``, written once and atomically; the directory."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / MODEL_FILE
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        joblib.dump(train_model(), tmp)
        tmp.replace(path)  # atomic: a concurrent reader never sees half a model
    return dest
