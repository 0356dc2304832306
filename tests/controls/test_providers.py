"""One code path after the provider: ``--kserve-cluster=existing`` against the local target's API, with
each ingress discovery method that can run here; and bad input ending in one line. (The whole
suite in each URL mode: test_url_modes.py.)"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
import yaml

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.controls.runner import Run, run_suite


def report(run: Run) -> dict:
    return yaml.safe_load((run.report_dir / "conformance-report.yaml").read_text())


def passed_all(run: Run) -> None:
    assert run.returncode == 0, run.output[-4000:]
    assert all(v.outcome in ("passed", "skipped") for v in run.verdicts.values()), run.verdicts


def test_existing_with_explicit_ingress_endpoint(target: LocalTargetProcess, tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        "--kserve-cluster=existing",
        f"--kubeconfig={target.kubeconfig}",
        f"--kserve-ingress-endpoint={target.info['gateway']}",
        "-k",
        "ingress_routes_host or predict_tutorial",
    )
    passed_all(run)
    assert report(run)["cluster"]["ingressEndpoint"]["foundBy"] == "--kserve-ingress-endpoint"


def test_existing_with_ingress_from_environment(
    target: LocalTargetProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSERVE_INGRESS_HOST_PORT", target.info["gateway"])
    run = run_suite(
        tmp_path, "--kserve-cluster=existing", f"--kubeconfig={target.kubeconfig}", "-k", "predict_tutorial"
    )
    passed_all(run)
    assert report(run)["cluster"]["ingressEndpoint"]["foundBy"] == "KSERVE_INGRESS_HOST_PORT"


def test_existing_leaves_a_given_namespace_and_removes_its_services(target: LocalTargetProcess, tmp_path: Path) -> None:
    from kubernetes import client

    from kserve_conformance.providers.base import api_client

    api = api_client(target.kubeconfig, None)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "kubeflow-user-example-com"}})
    run = run_suite(
        tmp_path,
        "--kserve-cluster=existing",
        f"--kubeconfig={target.kubeconfig}",
        "--kserve-test-namespace=kubeflow-user-example-com",
        "-k",
        "predict_tutorial",
    )
    passed_all(run)
    assert client.CoreV1Api(api).read_namespace("kubeflow-user-example-com").status.phase == "Active"
    left = client.CustomObjectsApi(api).list_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", "kubeflow-user-example-com", "inferenceservices"
    )["items"]
    assert left == []


def one_line_error(run: Run, *words: str) -> str:
    """The run must end with exit code 4 and one line naming the problem and the fix."""
    assert run.returncode == 4, f"exit code {run.returncode}\n{run.output[-3000:]}"
    lines = [line for line in run.output.splitlines() if "kserve-conformance:" in line]
    assert len(lines) == 1, run.output[-3000:]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in run.output, run.output[-3000:]
    return lines[0]


def test_unreachable_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
            }
        )
    )
    start = time.monotonic()
    run = run_suite(tmp_path, "--kserve-cluster=existing", f"--kubeconfig={kubeconfig}")
    one_line_error(run, "cannot reach the Kubernetes API at http://127.0.0.1:9", "KUBECONFIG")
    print(f"unreachable cluster reported in {time.monotonic() - start:.1f}s")


def test_missing_kubeconfig(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-cluster=existing", f"--kubeconfig={tmp_path / 'nope'}")
    one_line_error(run, "no kubeconfig at", "--kubeconfig")


@pytest.mark.parametrize("target", [LocalOptions(faults=("no-kserve",))], indirect=True)
def test_cluster_without_kserve(target: LocalTargetProcess, tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-cluster=existing", f"--kubeconfig={target.kubeconfig}")
    one_line_error(run, "KServe is not installed", "install KServe")


@pytest.mark.parametrize("target", [LocalOptions(faults=("forbid-create",))], indirect=True)
def test_forbidden_verb(target: LocalTargetProcess, tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-cluster=existing", f"--kubeconfig={target.kubeconfig}")
    one_line_error(run, "forbidden to create inferenceservices", "RBAC")


def test_given_namespace_must_exist(target: LocalTargetProcess, tmp_path: Path) -> None:
    run = run_suite(
        tmp_path, "--kserve-cluster=existing", f"--kubeconfig={target.kubeconfig}", "--kserve-test-namespace=absent"
    )
    one_line_error(run, "namespace absent does not exist")


def test_invalid_option_value(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-cluster=minikube")
    assert run.returncode == 4
    assert "invalid choice: 'minikube'" in run.output


def test_unknown_local_fault(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-local-fault=bogus")
    one_line_error(run, "unknown fault 'bogus'")


def test_bad_storage_map(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-storage-uri-map=gs://no-target")
    one_line_error(run, "expected FROM=TO")


def test_interrupted_run_leaves_nothing_behind(target: LocalTargetProcess, tmp_path: Path) -> None:
    """Ctrl-C while waiting for Ready: the namespace and the service it created are deleted."""
    import signal
    import subprocess
    import sys

    from kubernetes import client

    from kserve_conformance.providers.base import api_client
    from tests.controls.runner import REPO, as_a_user_would, suite_env

    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "conformance"),
        "--kserve-cluster=existing",
        f"--kubeconfig={target.kubeconfig}",
        f"--kserve-report-dir={tmp_path}",
        "-p",
        "no:cacheprovider",
        "-s",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=suite_env(PYTHONUNBUFFERED="1"),
        preexec_fn=as_a_user_would,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "created namespace" in line:
            break
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=120)[0]
    core = client.CoreV1Api(api_client(target.kubeconfig, None))
    left = [
        ns.metadata.name for ns in core.list_namespace().items if ns.metadata.name.startswith("kserve-conformance-")
    ]
    assert left == [], f"namespaces left behind: {left}\n{output[-3000:]}"


EXPOSURES = {
    "node-port": ("NodePort", "NodePort"),
    "gateway-api": ("GatewayAPI", "Gateway API gateway kserve/kserve-ingress-gateway"),
}


@pytest.mark.parametrize(
    "target", [LocalOptions(ingress_exposure=e) for e, _ in EXPOSURES.values()], ids=EXPOSURES.keys(), indirect=True
)
def test_ingress_discovery_methods(target: LocalTargetProcess, tmp_path: Path) -> None:
    run = run_suite(
        tmp_path, "--kserve-cluster=existing", f"--kubeconfig={target.kubeconfig}", "-k", "predict_tutorial"
    )
    passed_all(run)
    expected = dict(EXPOSURES.values())[target.options.ingress_exposure]
    assert report(run)["cluster"]["ingressEndpoint"]["foundBy"].startswith(expected)


@pytest.mark.parametrize("target", [LocalOptions(ingress_exposure="ClusterIP")], indirect=True)
def test_ingress_by_port_forward_started_and_stopped_by_the_suite(
    target: LocalTargetProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json as jsonlib
    import stat

    from tests.controls.runner import REPO

    fake = REPO / "tests" / "fakes" / "kubectl_port_forward.py"
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "kubectl.log"
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(log))
    monkeypatch.setenv("FAKE_FORWARD_TARGET", target.info["gateway"])
    run = run_suite(
        tmp_path,
        "--kserve-cluster=existing",
        f"--kubeconfig={target.kubeconfig}",
        f"--kind-kubectl-bin={fake}",
        "-k",
        "predict_tutorial",
    )
    passed_all(run)
    assert (
        report(run)["cluster"]["ingressEndpoint"]["foundBy"]
        == "kubectl port-forward to istio-system/istio-ingressgateway"
    )
    argv = jsonlib.loads(log.read_text().splitlines()[0])
    cache = argv[3] if argv[2:3] == ["--cache-dir"] else ""
    assert cache.startswith(tempfile.gettempdir()) and not Path(cache).exists(), (
        f"kubectl's discovery cache must be the run's own, removed at its end: {argv}"
    )
    assert argv == [
        "--kubeconfig",
        str(target.kubeconfig),
        "--cache-dir",
        cache,
        "port-forward",
        "-n",
        "istio-system",
        "service/istio-ingressgateway",
        f":{target.info['gateway'].rsplit(':', 1)[1]}",
        "--address",
        "127.0.0.1",
    ]
    import psutil

    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(fake) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == [], "the port-forward outlived the run"
