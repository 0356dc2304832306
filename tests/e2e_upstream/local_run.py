"""Start a local target, run KServe's own e2e tests against it, read their outcomes.

Shared by the upstream e2e self-tests, each in its own file so that CI's parallel pass (one
worker per file) runs the sklearn run, the generative run and the broken-target control side by side.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from kserve_conformance.providers.base import api_client
from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.conftest import REFERENCE
from tests.e2e_upstream import upstream
from tests.envs import EnvError, ensure

E2E_DIR = REFERENCE / "kserve" / "e2e"
EXPECTED = upstream.Expectations.load()
GENERATIVE = upstream.Expectations.load(upstream.GENERATIVE)
LLMISVC = upstream.Expectations.load(upstream.LLMISVC)


def run_upstream(
    work: Path,
    options: LocalOptions,
    n_tests: int,
    select: str | None = None,
    expected: upstream.Expectations = EXPECTED,
    timeout_s: int = upstream.PER_TEST_TIMEOUT_S,
) -> dict[str, upstream.Outcome]:
    """Start a target, create the namespace upstream's CI creates, run their tests, read the outcomes.

    Their CI runs ``kubectl create namespace kserve-ci-e2e-test``; the walk-through self-test covers
    kubectl, so this uses the API client and a kubectl defect cannot hide the e2e outcomes.
    """
    if not all((E2E_DIR / f).is_file() for f in expected.files):
        pytest.fail(f"KServe's e2e tests not found at {E2E_DIR}: the self-tests expect ../shared beside the repo")
    try:
        python = ensure("kserve-e2e") / "python"
    except EnvError as err:
        pytest.fail(f"{err} (python -m tests.envs kserve-e2e creates it from the package index)")
    target = LocalTargetProcess(options, state_dir=work / "target")
    info = target.start()
    try:
        core = client.CoreV1Api(api_client(target.kubeconfig, None))
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=upstream.TEST_NAMESPACE)))
        junit = work / "junit.xml"
        done = upstream.run(
            python,
            E2E_DIR,
            target.kubeconfig,
            info["gateway"],
            junit,
            n_tests,
            select,
            timeout_s,
            expected.files,
            expected.env,
        )
        (work / "upstream.log").write_text(done.stdout + done.stderr)
        if not junit.exists():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            pytest.fail(f"KServe's e2e pytest wrote no report (exit {done.returncode}):\n{tail}")
        return upstream.outcomes(junit)
    finally:
        target.stop()
