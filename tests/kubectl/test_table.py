"""``kubectl get`` prints the server's Table: the CRD's printer columns (issue 9: NAME and AGE only)."""

from __future__ import annotations

import datetime

import pytest
import requests

from kserve_conformance.providers.local import LocalTargetProcess
from kserve_local.apiserver import table
from kserve_local.apiserver.resources import INFERENCESERVICES, crd_object, load_printer_columns, load_schema
from tests.conftest import ISVC_CRD
from tests.kubectl.conftest import Kubectl
from tests.kubectl.test_watch import ISVC

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_get_isvc_shows_the_crd_printer_columns(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "table-isvc")
    kubectl("create", "-n", "table-isvc", "-f", "-", stdin=ISVC.format(name="iris"))
    header = kubectl("get", "isvc", "-n", "table-isvc").stdout.splitlines()[0].split()
    assert header == ["NAME", "URL", "READY", "PREV", "LATEST", "PREVROLLEDOUTREVISION", "LATESTREADYREVISION", "AGE"]


def test_get_service_shows_external_ip_and_ports(kubectl: Kubectl) -> None:
    out = kubectl("get", "svc", "istio-ingressgateway", "-n", "istio-system").stdout.splitlines()
    assert out[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert out[1].split()[1:4] == ["LoadBalancer", "<none>", "127.0.0.1"]


def test_table_only_when_asked(target: LocalTargetProcess) -> None:
    """Negative control: a plain JSON client still gets the list, not a Table."""
    url = f"{target.info['api']}/api/v1/namespaces"
    assert requests.get(url, timeout=10).json()["kind"] == "NamespaceList"
    as_table = requests.get(url, headers={"Accept": TABLE}, timeout=10).json()
    assert as_table["kind"] == "Table"
    assert as_table["apiVersion"] == "meta.k8s.io/v1"
    assert as_table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


@pytest.mark.parametrize("crd_file", [None, ISVC_CRD], ids=["built-in-schema", "real-crd"])
def test_printer_columns_come_with_either_schema(crd_file: object) -> None:
    crd = crd_object(INFERENCESERVICES, load_schema(crd_file), load_printer_columns(crd_file))  # type: ignore[arg-type]
    obj = {
        "metadata": {"name": "iris", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "url": "http://iris.ns.example.com",
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {
                "predictor": {
                    "traffic": [{"latestRevision": True, "percent": 100, "revisionName": "iris-predictor-00001"}]
                }
            },
        },
    }
    cells = table.table(INFERENCESERVICES, crd, [obj], "1")["rows"][0]["cells"]
    assert cells[:6] == ["iris", "http://iris.ns.example.com", "True", "<none>", 100, "<none>"]
    assert cells[6] == "iris-predictor-00001"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(45, "45s"), (150, "2m30s"), (600, "10m"), (4 * 3600, "4h"), (3 * 86400 + 3600, "3d1h"), (30 * 86400, "30d")],
)
def test_age_is_printed_as_kubectl_does(seconds: int, shown: str) -> None:
    now = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    stamp = (now - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert table.human_age(stamp, now) == shown


def test_printer_columns_show_a_canary_split() -> None:
    """What the local target writes during a canary, as KServe's canary example shows it:
    PREV 90, LATEST 10, PREVROLLEDOUTREVISION the old revision, LATESTREADYREVISION the new one."""
    crd = crd_object(INFERENCESERVICES, load_schema(ISVC_CRD), load_printer_columns(ISVC_CRD))
    traffic = [
        {"revisionName": "iris-predictor-00002", "percent": 10, "latestRevision": True, "tag": "latest"},
        {"revisionName": "iris-predictor-00001", "percent": 90, "latestRevision": False, "tag": "prev"},
    ]
    obj = {
        "metadata": {"name": "iris", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "url": "http://iris.ns.example.com",
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {"predictor": {"traffic": traffic}},
        },
    }
    cells = table.table(INFERENCESERVICES, crd, [obj], "1")["rows"][0]["cells"]
    assert cells[3:7] == [90, 10, "iris-predictor-00001", "iris-predictor-00002"], cells
