"""The mixed-type stand-in answers upstream's request with upstream's number, and only via a DataFrame.

KServe's ``test_sklearn_v2_mixed`` asserts ``[12.202832815138274]`` exactly; the stand-in must
give that bit for bit for the request the test sends (read from the reference copy, decoded as
kserve's own server decodes it), and must not give it when the server skips the pandas content
type (the columns it selects by name are then missing): that is what the upstream test checks.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from kserve_local.models.standins import MIXEDTYPE_URI, build_standins, train_mixedtype
from tests.conftest import REFERENCE

REQUEST = REFERENCE / "kserve" / "e2e" / "data" / "sklearn_mixed_v2.json"
EXPECTED = 12.202832815138274  # test_sklearn_v2_mixed's assertion


# kserve is imported in a child process: its generated V2 gRPC messages and open-inference-grpc's
# (which the gRPC self-tests use) share protobuf names, so one process cannot import both.
DECODE = """
import pickle, sys
from kserve.protocol.infer_type import InferRequest
from kserve.utils.utils import get_predict_input
raw = sys.stdin.buffer.read()
sys.stdout.buffer.write(pickle.dumps(get_predict_input(InferRequest.from_bytes(raw, len(raw), "sklearn"))))
"""


@cache
def decode(raw: bytes) -> bytes:
    done = subprocess.run([sys.executable, "-c", DECODE], input=raw, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def decoded(body: dict) -> object:
    return pickle.loads(decode(json.dumps(body).encode()))  # a fresh copy for each test


def test_mixedtype_answers_upstream_request_exactly() -> None:
    prediction = train_mixedtype().predict(decoded(json.loads(REQUEST.read_text())))
    assert prediction.tolist() == [EXPECTED]


def test_mixedtype_needs_the_pandas_content_type() -> None:
    body = json.loads(REQUEST.read_text())
    del body["parameters"]  # no content_type: pd, so the server does not build a DataFrame
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        train_mixedtype().predict(decoded(body))


def test_mixedtype_selects_columns_by_name() -> None:
    frame = decoded(json.loads(REQUEST.read_text()))
    with pytest.raises(ValueError, match="only supported for dataframes"):
        train_mixedtype().predict(np.asarray(frame, dtype=object))  # same values, no column names


def test_storage_defaults_map_the_bucket(tmp_path: Path) -> None:
    mapped = dict(build_standins(tmp_path))
    assert (Path(mapped[MIXEDTYPE_URI]) / "model.joblib").is_file()
