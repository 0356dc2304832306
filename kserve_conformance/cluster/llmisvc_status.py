"""The LLMInferenceService status contract of KServe's ``llmisvc-status.md``, judged from data.

Pure functions of the object (no API calls), so the self-tests hold them against the doc's own
sample statuses. The contract's table is ``conformance/data/llmisvc.yaml``:

* **Presence by topology.** "Optional conditions are cleared (removed) when the feature is not
  configured": which conditions a service has follows from what its spec configures (one worker
  or several, prefill, autoscaling, gateway refs, a route, a managed scheduler, a routing group).
  KServe's router reconciler clears ``GatewaysReady`` unless ``spec.router.gateway.refs`` names a
  Gateway (``EvaluateGatewayConditions``), so the walk-through's managed ``gateway: {}`` has none.
* **The rollup.** ``Ready = WorkloadsReady ∧ RouterReady``, each aggregate True exactly when every
  sub-condition present under it is True. An aggregate that disagrees with its sub-conditions is
  named with both sides.
* **Addresses.** Model-routing addresses (name ending ``-model-routing``) list the qualified name
  ``publishers/<namespace>/models/<model>``; the others list it and the short name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.cluster.kube import Obj, conditions

CONTRACT: dict[str, Any] = load_yaml(DATA / "llmisvc.yaml")
ROUTING: dict[str, str] = CONTRACT["model_routing"]


def topology(spec: Obj) -> frozenset[str]:
    """The signals of ``present_when`` that ``spec`` configures (``llmisvc.yaml`` says which field each reads)."""
    router = spec.get("router") or {}
    route, scheduler = router.get("route"), router.get("scheduler")
    prefill = spec.get("prefill") or {}
    pool_ref = ((scheduler or {}).get("pool") or {}).get("ref") or {}
    signals = {
        "multi-node" if spec.get("worker") is not None else "single-node",
        *(["prefill"] if spec.get("prefill") is not None else []),
        *(["multi-node-prefill"] if prefill.get("worker") is not None else []),
        *(["scaling"] if spec.get("scaling") is not None else []),
        *(["prefill-scaling"] if prefill.get("scaling") is not None else []),
        *(["gateway-refs"] if (router.get("gateway") or {}).get("refs") else []),
        *(["route"] if route is not None else []),
        *(["routing-group"] if (route or {}).get("group") else []),
        *(["managed-scheduler"] if scheduler is not None and not pool_ref.get("name") else []),
    }
    return frozenset(signals)


@dataclass(frozen=True)
class Expected:
    required: tuple[str, ...]  # present, and True on a healthy service
    absent: dict[str, str]  # condition -> the signal whose absence clears it
    signals: frozenset[str]

    def describe(self) -> str:
        return ", ".join(sorted(self.signals))


def expected(spec: Obj) -> Expected:
    signals = topology(spec)
    required = list(CONTRACT["always"])
    absent: dict[str, str] = {}
    for condition, signal in CONTRACT["present_when"].items():
        if signal in signals:
            required.append(condition)
        else:
            absent[condition] = signal
    if "routing-group" not in signals:
        absent.update(dict.fromkeys(CONTRACT["group_only"], "routing-group"))
    return Expected(tuple(required), absent, signals)


def say(condition: Obj) -> str:
    """``Type=Status (Reason: message)``, as a failure names a condition."""
    detail = ": ".join(str(condition[k]) for k in ("reason", "message") if condition.get(k))
    return f"{condition.get('type')}={condition.get('status')}" + (f" ({detail})" if detail else "")


def contract_problems(obj: Obj, spec: Obj) -> list[str]:
    """Every way the conditions break the contract for the topology ``spec`` configures; empty when none."""
    want = expected(spec)
    found = conditions(obj)
    problems = []
    for name in want.required:
        if name not in found:
            problems.append(f"{name} is missing from status.conditions; the doc says it is present for this topology")
        elif found[name].get("status") != "True":
            problems.append(f"{say(found[name])}, expected True")
    for name, signal in sorted(want.absent.items()):
        if name in found:
            problems.append(
                f"{say(found[name])} is present, but the spec configures no {signal}: the doc says it is cleared"
            )
    problems += rollup_problems(found)
    return problems


def rollup_problems(found: dict[str, Obj]) -> list[str]:
    """Each aggregate that is not exactly the conjunction of its present sub-conditions."""
    problems = []
    for aggregate, parts in CONTRACT["rollup"].items():
        if aggregate not in found:
            continue
        present = [found[p] for p in parts if p in found]
        all_true = all(p.get("status") == "True" for p in present)
        is_true = found[aggregate].get("status") == "True"
        if is_true and not all_true:
            bad = ", ".join(say(p) for p in present if p.get("status") != "True")
            problems.append(f"{say(found[aggregate])} while {bad}: {aggregate} must be the conjunction of {parts}")
        elif not is_true and all_true and present:
            good = ", ".join(say(p) for p in present)
            problems.append(f"{say(found[aggregate])} while {good}: {aggregate} must be the conjunction of {parts}")
    return problems


# --- addresses -------------------------------------------------------------------------------


def is_model_routing(address: Obj) -> bool:
    return str(address.get("name") or "").endswith(ROUTING["suffix"])


def qualified(namespace: str, model: str) -> str:
    return ROUTING["qualified"].format(namespace=namespace, model=model)


def expected_models(address: Obj, namespace: str, model: str) -> list[str]:
    """The model names the doc says an address lists: the qualified one, and a standard address's short one."""
    names = [qualified(namespace, model)]
    return names if is_model_routing(address) else [*names, model]


def models_problem(address: Obj, namespace: str, model: str) -> str | None:
    listed = [m.get("name") for m in address.get("models") or [] if isinstance(m, dict)]
    missing = [n for n in expected_models(address, namespace, model) if n not in listed]
    if missing:
        return f"address {describe(address)} lists models {listed}, without {missing}"
    return None


def origin_problem(address: Obj) -> str | None:
    origin = address.get("origin")
    if not isinstance(origin, dict) or not origin.get("name"):
        return f"address {describe(address)} has no origin naming the Gateway that produced it"
    if origin.get("kind") != "Gateway" or origin.get("group") != "gateway.networking.k8s.io":
        return f"address {describe(address)} has origin {origin}, not a gateway.networking.k8s.io Gateway"
    return None


def status_url_problem(status: Obj) -> str | None:
    """``status.url`` is one of the addresses' URLs (KServe sets it from the first external one); with
    none set, no address may be a ``gateway-external`` one ("public address from a Gateway's status")."""
    url = status.get("url")
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
    urls = [str(a.get("url", "")) for a in addresses]
    if url:
        if str(url).rstrip("/") not in {u.rstrip("/") for u in urls}:
            return f"status.url {url} is none of the addresses' URLs {urls}"
        return None
    external = [describe(a) for a in addresses if str(a.get("name", "")).startswith("gateway-external")]
    if external:
        return f"status.url is not set, but the addresses include public ones: {external}"
    return None


def describe(address: Obj) -> str:
    return f"{address.get('name') or '(unnamed)'} {address.get('url')}"


# --- status against the data plane ----------------------------------------------------------


def disagreeing(obj: Obj) -> str:
    """The conditions that say the service does not serve: Ready and every one under it that is not True."""
    found = conditions(obj)
    if not found:
        return "no conditions at all"
    ready = found.get("Ready", {"type": "Ready", "status": "absent"})
    parts = [c for t, c in sorted(found.items()) if t != "Ready" and c.get("status") != "True"]
    return ", ".join(say(c) for c in [ready, *parts])


def claims(obj: Obj) -> str:
    """What the status claims when it says the service serves: Ready and the router's conditions."""
    found = conditions(obj)
    router = ["Ready", "RouterReady", *CONTRACT["rollup"]["RouterReady"]]
    return ", ".join(say(found[t]) for t in router if t in found) or "no conditions"


# --- stopped ---------------------------------------------------------------------------------

STOPPED = "Stopped"  # the reason of "Any workload condition" and "Any router condition" of a stopped service


def stopped_problem(obj: Obj) -> str | None:
    """Why the status does not say stopped: Ready must be False, and some condition's reason ``Stopped``
    (Ready's own, or a workload or router condition's, as KServe's stop e2e accepts)."""
    found = conditions(obj)
    ready = found.get("Ready")
    if ready is None or ready.get("status") != "False":
        return f"Ready is {say(ready) if ready else 'absent'}, not False"
    if not any(c.get("reason") == STOPPED for c in found.values()):
        return f"no condition has reason {STOPPED}: " + ", ".join(say(c) for _, c in sorted(found.items()))
    return None
