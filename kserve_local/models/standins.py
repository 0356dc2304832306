"""Deterministic local stand-ins for sample models that exist only in KServe's GCS buckets.

The local target has no network, so the ``storageUri`` values KServe's own e2e tests use are
mapped (like the tutorial's iris model, see ``iris``) to models built here at target start. A
stand-in is the same kind of artifact as the original, served by the same code path, and
answers the original's documented request with the original's documented answer; nothing else
about it is claimed.

``gs://kfserving-examples/models/sklearn/1.3/mixedtype`` is a scikit-learn pipeline over a
table of string and integer columns. What the e2e tests that serve it exercise is the V2
``content_type: pd`` path: named, typed input tensors become a pandas DataFrame. The stand-in
selects its columns *by name* (a ``ColumnTransformer``), so it only answers when the server did
build that DataFrame, and its regression tree reproduces a training target exactly, so the
upstream assertion of ``12.202832815138274`` holds bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeRegressor

from kserve_local.models.iris import build_iris_model, save_once

MIXEDTYPE_DATA = Path(__file__).parent / "data" / "mixedtype.yaml"
# The tutorial's model bucket and the V2 sample's: served offline from a model built here.
IRIS_URIS = ("gs://kfserving-examples/models/sklearn/1.0/model", "gs://seldon-models/sklearn/iris")
MIXEDTYPE_URI = "gs://kfserving-examples/models/sklearn/1.3/mixedtype"


def train_mixedtype(data_path: Path = MIXEDTYPE_DATA) -> Pipeline:
    spec = yaml.safe_load(data_path.read_text())
    cols = spec["columns"]
    table = pd.DataFrame(spec["rows"])
    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), cols["categorical"]),
            ("numerical", "passthrough", cols["numerical"]),
        ]
    )
    model = Pipeline([("encode", encode), ("regress", DecisionTreeRegressor(random_state=0))])
    return model.fit(table[cols["categorical"] + cols["numerical"]], table[cols["target"]])


def build_mixedtype_model(dest: Path) -> Path:
    """Write ``dest/model.joblib`` once; later calls reuse it. Returns the model directory."""
    return save_once(dest, train_mixedtype)


def build_standins(models_dir: Path) -> Iterable[tuple[str, str]]:
    """``(storageUri, local directory)`` pairs, the storage map's defaults."""
    iris = str(build_iris_model(models_dir / "sklearn-iris"))
    mixed = str(build_mixedtype_model(models_dir / "sklearn-mixedtype"))
    return [*((uri, iris) for uri in IRIS_URIS), (MIXEDTYPE_URI, mixed)]
