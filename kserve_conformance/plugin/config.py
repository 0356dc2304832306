"""The run's configuration: read from pytest's options once, validated, then passed around.

Options used to be read with ``getoption`` wherever they were needed, so a bad value
(``--kserve-load-rate=-5``, ``--kserve-services=nosuch``) surfaced late, as a collection error or a failed
check, or not at all. Here every option is checked when pytest configures the plugin and a bad
one ends the run at once with one line per problem and exit code 4 (pytest's usage error).
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kserve_conformance.checks import catalog
from kserve_conformance.cluster.storage import StorageMap, StorageMapError
from kserve_conformance.reporting.report import IMPLEMENTATION_FIELDS
from kserve_conformance.timeouts import Timeouts

KEY = pytest.StashKey["SuiteConfig"]()


@dataclass(frozen=True)
class LoadOptions:
    rate: float | None = None  # requests per second, all workers together; None: the provider's declared rate
    duration_s: float = 60.0
    workers: int = 1
    max_lag_ms: float = 10.0  # generator scheduling lag p99 above which a run is invalid


@dataclass(frozen=True)
class LLMLoadOptions:
    """The LLM load check's options (``load.llm``); workers and the lag bound are the classic load's."""

    rate: float = 2.0
    duration_s: float = 30.0
    arrival: str = "constant"
    seed: int = 0
    kind: str = "completions"
    timeout_s: float = 120.0
    prompts: Path | None = None
    ignore_eos: bool = True
    tokenizer: Path | None = None
    sweep: bool = False
    sweep_steps: int = 6
    slo_ttft_ms: float | None = 2000.0
    slo_tpot_ms: float | None = 200.0
    slo_goodput: float | None = None


@dataclass(frozen=True)
class Thresholds:
    """What the load check judges by (``load.slo.SLO`` is built from it)."""

    p99_ms: float | None = 100.0
    p50_ms: float | None = None
    max_ms: float | None = None
    error_rate: float = 0.0


@dataclass(frozen=True)
class SuiteConfig:
    cluster: str = "local"
    report_dir: Path = Path("reports")
    namespace: str | None = None  # the user's namespace, never created or deleted
    kserve_namespace: str = "kserve"
    ingress_endpoint: str | None = None
    resolvable_domain: bool = False
    services: tuple[str, ...] | None = None  # None: every service in the catalog
    consecutive_successes: int = 3
    timeouts: Timeouts = field(default_factory=Timeouts)
    load: LoadOptions = field(default_factory=LoadOptions)
    thresholds: Thresholds = field(default_factory=Thresholds)
    llm: LLMLoadOptions = field(default_factory=LLMLoadOptions)
    storage: StorageMap = field(default_factory=StorageMap)
    endpoint: str | None = None
    model_name: str | None = None
    protocol: str = "v1"
    openai_prefix: str | None = None  # None: detect (dataplane.openai.detect_prefix)
    grpc_endpoint: str | None = None
    certification: bool = False
    cold_start_ceiling_s: float = 300.0  # the ColdStart check's bound on one request after scale to zero
    prometheus_url: str | None = None  # None: discover the cluster's Prometheus (cluster/monitoring.py)
    llmisvc_model_uri: str | None = None  # None: the LLMInferenceService manifest's own spec.model.uri
    llmisvc_model_name: str | None = None  # None: the manifest's own spec.model.name
    llmisvc_replicas: int | None = None  # None: the manifest's own spec.replicas
    implementation: dict[str, str] = field(default_factory=dict)

    def service_entries(self) -> list[catalog.ServiceEntry]:
        return catalog.services(",".join(self.services) if self.services is not None else None)


_active = SuiteConfig()


def active() -> SuiteConfig:
    """The configuration of the running session (defaults outside one).

    For module-level values of check modules, which are imported after ``pytest_configure``
    built the configuration; everything else gets it from ``of(config)``.
    """
    return _active


def of(config: pytest.Config) -> SuiteConfig:
    return config.stash.get(KEY, _active)


class OptionErrors:
    """Collects every bad option, so one run names them all (one line each)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.problems: list[str] = []

    def number(
        self,
        name: str,
        *,
        minimum: float = 0.0,
        inclusive: bool = False,
        optional: bool = False,
        maximum: float | None = None,
    ) -> Any:
        value = self.config.getoption(name.replace("-", "_"))
        if value is None and optional:
            return None
        bad = (
            not isinstance(value, int | float)
            or math.isnan(value)
            or math.isinf(value)
            or (value < minimum if inclusive else value <= minimum)
            or (maximum is not None and value > maximum)
        )
        if bad:
            lower = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
            upper = f" and <= {maximum:g}" if maximum is not None else ""
            self.problems.append(f"--{name}={value}: must be a finite number {lower}{upper}")
        return value


def build(config: pytest.Config) -> SuiteConfig:
    """Read and validate every option; raise ``pytest.UsageError`` naming each bad one."""
    errors = OptionErrors(config)
    timeouts = Timeouts(
        ready_s=errors.number("kserve-ready-timeout"),
        consistency_s=errors.number("kserve-consistency-timeout"),
        request_s=errors.number("kserve-request-timeout"),
        load_request_s=errors.number("kserve-load-timeout"),
        traffic_s=errors.number("kserve-traffic-timeout"),
        scale_s=errors.number("kserve-scale-timeout"),
    )
    load = LoadOptions(
        rate=errors.number("kserve-load-rate", optional=True),
        duration_s=errors.number("kserve-load-duration"),
        workers=errors.number("kserve-load-workers", minimum=1, inclusive=True),
        max_lag_ms=errors.number("kserve-load-max-lag-ms"),
    )
    thresholds = Thresholds(
        p99_ms=errors.number("kserve-slo-p99-ms", optional=True),
        p50_ms=errors.number("kserve-slo-p50-ms", optional=True),
        max_ms=errors.number("kserve-slo-max-ms", optional=True),
        error_rate=errors.number("kserve-slo-error-rate", inclusive=True, maximum=1.0),
    )
    llm = _llm_options(config, errors)
    consecutive = errors.number("kserve-consecutive-successes", minimum=1, inclusive=True)
    services = _services(config.getoption("kserve_services"), errors.problems)
    try:
        storage = StorageMap.parse(config.getoption("kserve_storage_uri_map"))
    except StorageMapError as err:
        errors.problems.append(str(err))
        storage = StorageMap()
    # (--kubeconfig is the provider's to check: kind writes it, the others name the fix)
    crd = config.getoption("kserve_local_crd")
    if crd and not Path(crd).is_file():
        errors.problems.append(f"--kserve-local-crd={crd}: no such file")
    suite = SuiteConfig(
        cluster=config.getoption("kserve_cluster"),
        report_dir=Path(config.getoption("kserve_report_dir")),
        services=services,
        namespace=config.getoption("kserve_test_namespace"),
        kserve_namespace=config.getoption("kserve_namespace"),
        ingress_endpoint=config.getoption("kserve_ingress_endpoint"),
        resolvable_domain=config.getoption("kserve_resolvable_domain"),
        consecutive_successes=consecutive,
        timeouts=timeouts,
        load=load,
        thresholds=thresholds,
        llm=llm,
        storage=storage,
        endpoint=config.getoption("kserve_endpoint"),
        model_name=config.getoption("kserve_model_name"),
        protocol=config.getoption("kserve_protocol"),
        openai_prefix=_openai_prefix(config.getoption("kserve_openai_prefix"), errors.problems),
        grpc_endpoint=config.getoption("kserve_grpc_endpoint"),
        certification=config.getoption("kserve_certification"),
        cold_start_ceiling_s=errors.number("kserve-cold-start-ceiling"),
        prometheus_url=_prometheus_url(config.getoption("kserve_prometheus_url"), errors.problems),
        llmisvc_model_uri=config.getoption("kserve_llmisvc_model_uri"),
        llmisvc_model_name=config.getoption("kserve_llmisvc_model_name"),
        llmisvc_replicas=errors.number("kserve-llmisvc-replicas", minimum=1, inclusive=True, optional=True),
        implementation={f: config.getoption(f"kserve_implementation_{f}") for f in IMPLEMENTATION_FIELDS},
    )
    if errors.problems:
        raise pytest.UsageError(*(f"kserve-conformance: {p}" for p in errors.problems))
    return suite


def _openai_prefix(value: str | None, problems: list[str]) -> str | None:
    """``/openai`` or ``""`` (the root); a trailing slash is dropped, a missing leading one is an error."""
    if value is None:
        return None
    prefix = value.rstrip("/")
    if prefix and not prefix.startswith("/"):
        problems.append(f"--kserve-openai-prefix={value}: must start with / (or be empty for the root)")
    return prefix


def _prometheus_url(value: str | None, problems: list[str]) -> str | None:
    """An http(s) URL with a host: Prometheus' HTTP API is below it (``/api/v1/query``); a trailing slash is dropped."""
    if value is None:
        return None
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"--kserve-prometheus-url={value}: must be an http:// or https:// URL, e.g. http://HOST:9090")
    return value.rstrip("/")


def _llm_options(config: pytest.Config, errors: OptionErrors) -> LLMLoadOptions:
    files = {}
    for name in ("prompts", "tokenizer"):
        value = config.getoption(f"kserve_llm_load_{name}")
        if value and not Path(value).is_file():
            errors.problems.append(f"--kserve-llm-load-{name}={value}: no such file")
        files[name] = Path(value) if value else None
    return LLMLoadOptions(
        rate=errors.number("kserve-llm-load-rate"),
        duration_s=errors.number("kserve-llm-load-duration"),
        arrival=config.getoption("kserve_llm_load_arrival"),
        seed=config.getoption("kserve_llm_load_seed"),
        kind=config.getoption("kserve_llm_load_kind"),
        timeout_s=errors.number("kserve-llm-load-timeout"),
        prompts=files["prompts"],
        ignore_eos=not config.getoption("kserve_llm_load_no_ignore_eos"),
        tokenizer=files["tokenizer"],
        sweep=config.getoption("kserve_llm_load_sweep"),
        sweep_steps=errors.number("kserve-llm-load-sweep-steps", minimum=1, inclusive=True),
        slo_ttft_ms=errors.number("kserve-slo-ttft-ms", optional=True),
        slo_tpot_ms=errors.number("kserve-slo-tpot-ms", optional=True),
        slo_goodput=errors.number("kserve-slo-goodput", optional=True, inclusive=True, maximum=1.0),
    )


def _services(selected: str | None, problems: list[str]) -> tuple[str, ...] | None:
    if selected is None:
        return None
    wanted = tuple(s.strip() for s in selected.split(",") if s.strip())
    known = [e.id for e in catalog.services(every=True)]
    unknown = [s for s in wanted if s not in known]
    if unknown or not wanted:
        problems.append(
            f"--kserve-services={selected}: unknown service id(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(known)}"
        )
    return wanted


def install(config: pytest.Config) -> SuiteConfig:
    """Build the configuration and make it the session's."""
    global _active
    suite = build(config)
    config.stash[KEY] = suite
    _active = suite
    return suite
