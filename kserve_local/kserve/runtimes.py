"""Which ServingRuntime serves a predictor, decided as KServe's controller decides it.

A predictor that names ``spec.predictor.model.runtime`` gets that runtime (a ServingRuntime in
its namespace first, then a ClusterServingRuntime), or none: KServe then reports
``RuntimeNotRecognized`` and never becomes Ready. A named runtime must support the model format
and protocol and not be disabled. Without a name, the runtimes that auto-select the format and
speak the protocol compete by priority. The runtime's container args (placeholders filled from
the InferenceService) come first and the predictor's own ``args`` after them, as KServe merges
them, so ``--model_name`` and ``--workers`` reach the model server.

The local target runs the containers of the images it knows (:mod:`kserve_local.images`): its
scikit-learn model server, and the generative runtimes' servers, whose images the seeded
``kserve-sklearnserver``, ``kserve-huggingfaceserver`` and ``kserve-vllmserver`` carry. A runtime
with any other image is one this target cannot start, and it says so in the condition instead of
pretending. The container's ``command``, ``env`` and ``readinessProbe`` are kept for the kubelet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kserve_local.apiserver.resources import RESOURCES
from kserve_local.apiserver.store import Obj, Store
from kserve_local.images import images

# The runtimes a KServe install seeds (here: sklearn, huggingface and vLLM).
SEED = Path(__file__).parent / "data" / "seed.yaml"
SERVING_RUNTIMES = next(r for r in RESOURCES if r.plural == "servingruntimes")
CLUSTER_SERVING_RUNTIMES = next(r for r in RESOURCES if r.plural == "clusterservingruntimes")


class NoRuntime(Exception):
    """A predictor no runtime can serve: KServe's reason and message for the condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Selected:
    name: str
    image: str
    args: tuple[str, ...]
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # the runtime container's; the predictor's are added after
    readiness_path: str | None = None  # the container's readinessProbe httpGet path, if it has one
    annotations: tuple[tuple[str, str], ...] = ()  # the runtime's spec.annotations, for its pods


def model_spec(isvc: Obj) -> tuple[dict[str, Any], str | None]:
    """The predictor's model spec and format; the deprecated ``predictor.sklearn`` form included."""
    predictor = isvc["spec"].get("predictor", {})
    model = predictor.get("model") or {}
    fmt = (model.get("modelFormat") or {}).get("name")
    if fmt is None and "sklearn" in predictor:
        model, fmt = predictor["sklearn"], "sklearn"
    return model, fmt


def select(store: Store, isvc: Obj) -> Selected:
    meta = isvc["metadata"]
    model, fmt = model_spec(isvc)
    protocol = model.get("protocolVersion", "v1")
    name = model.get("runtime")
    if name:
        spec = _named(store, meta["namespace"], name)
        if spec is None:
            raise NoRuntime(
                "RuntimeNotRecognized", f"No ServingRuntimes or ClusterServingRuntimes with the name: {name}"
            )
        if spec.get("disabled"):
            raise NoRuntime("RuntimeDisabled", f"Specified runtime {name} is disabled")
        if not _supports(spec, fmt, protocol):
            raise NoRuntime(
                "NoSupportingRuntime",
                f"Specified runtime {name} does not support model format {fmt} with protocol {protocol}",
            )
    else:
        candidates = [
            (n, s)
            for n, s in _all(store, meta["namespace"])
            if not s.get("disabled") and _supports(s, fmt, protocol, auto=True)
        ]
        if not candidates:
            raise NoRuntime("NoSupportingRuntime", f"No runtime found to support predictor with model type: {fmt}")
        name, spec = max(candidates, key=lambda c: _priority(c[1], fmt))
    container = (spec.get("containers") or [{}])[0]
    image = container.get("image", "")
    if image not in images():
        raise NoRuntime(
            "RuntimeNotRunnable",
            f"runtime {name} runs image {image!r}; the local target can only run its own images "
            f"({', '.join(sorted(images()))})",
        )
    args = [_fill(a, meta) for a in container.get("args", [])]
    env = tuple((e["name"], _fill(str(e.get("value", "")), meta)) for e in container.get("env") or [] if "name" in e)
    probe = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
    return Selected(
        name,
        image,
        (*args, *[str(a) for a in model.get("args", [])]),
        command=tuple(str(c) for c in container.get("command") or ()),
        env=env,
        readiness_path=probe,
        annotations=tuple((str(k), _fill(str(v), meta)) for k, v in (spec.get("annotations") or {}).items()),
    )


def _fill(value: str, meta: dict[str, Any]) -> str:
    """The runtime's Go-template placeholders, filled from the InferenceService."""
    return value.replace("{{.Name}}", meta["name"]).replace("{{.Namespace}}", meta["namespace"])


def server_options(args: tuple[str, ...]) -> dict[str, str]:
    """``--flag=value`` and ``--flag value`` pairs, the last one winning, as argparse reads them."""
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            key, sep, value = arg[2:].partition("=")
            if not sep and i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, i = args[i + 1], i + 1
            options[key.replace("-", "_")] = value
        i += 1
    return options


def model_refs(args: tuple[str, ...]) -> list[str]:
    """The model ids the args name (huggingfaceserver's ``--model_id``, vLLM's ``--model``)."""
    options = server_options(args)
    return [options[k] for k in ("model_id", "model") if k in options]


def _named(store: Store, namespace: str, name: str) -> dict[str, Any] | None:
    found = store.find(SERVING_RUNTIMES, namespace, name) or store.find(CLUSTER_SERVING_RUNTIMES, "", name)
    return found.get("spec", {}) if found else None


def _all(store: Store, namespace: str) -> list[tuple[str, dict[str, Any]]]:
    namespaced = [(o["metadata"]["name"], o.get("spec", {})) for o in store.list(SERVING_RUNTIMES, namespace)]
    cluster = [(o["metadata"]["name"], o.get("spec", {})) for o in store.list(CLUSTER_SERVING_RUNTIMES, "")]
    return namespaced + cluster


def _supports(spec: dict[str, Any], fmt: str | None, protocol: str, auto: bool = False) -> bool:
    formats = [f for f in spec.get("supportedModelFormats", []) if f.get("name") == fmt]
    if auto:
        formats = [f for f in formats if f.get("autoSelect")]
    # A runtime that lists no protocolVersions supports any (KServe's IsProtocolVersionSupported), as
    # kserve-vllmserver, which lists none, serves a vLLM model the defaulter gives protocolVersion v2.
    versions = spec.get("protocolVersions") or []
    return bool(formats) and (not versions or protocol in versions)


def _priority(spec: dict[str, Any], fmt: str | None) -> int:
    return max(
        (int(f.get("priority", 0)) for f in spec.get("supportedModelFormats", []) if f.get("name") == fmt), default=0
    )
