"""APIs a cluster has that store nothing of their own: events.k8s.io, access reviews, health.

- ``events.k8s.io/v1`` Events are another version of the core Events (the reconciler writes core
  ones, as client-go's legacy recorder does); a read-only view converts them, so ``kubectl get
  events.events.k8s.io`` and clients of the new API see the same events.
- ``SelfSubjectAccessReview`` (``kubectl auth can-i``) answers from the target's own
  authorization: everything is allowed except what a fault forbids, so can-i and the real
  request agree. ``SelfSubjectReview`` (``kubectl auth whoami``) names the kubeconfig's user.
- ``/healthz``, ``/livez``, ``/readyz`` answer ``ok`` as kube-apiserver does (``?verbose`` lists checks).
"""

from __future__ import annotations

from aiohttp import web

from kserve_local.apiserver.store import ApiError, Obj, Resource, Store, now

EVENTS_V1 = Resource("events.k8s.io", "v1", "events", "Event", namespaced=True, short_names=("ev",))
ACCESS_REVIEWS = Resource(
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False
)
SUBJECT_REVIEWS = Resource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False)
CREATE_ONLY = (ACCESS_REVIEWS, SUBJECT_REVIEWS)
USER = {"username": "local", "groups": ["system:masters", "system:authenticated"]}
HEALTH_CHECKS = ("ping", "log", "etcd", "poststarthook/start-apiextensions-controllers")


def to_events_v1(event: Obj) -> Obj:
    """A core/v1 Event as events.k8s.io/v1 has it (the fields kube-apiserver converts)."""
    meta = event.get("metadata", {})
    out: Obj = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": meta,
        "eventTime": event.get("eventTime") or event.get("firstTimestamp") or meta.get("creationTimestamp"),
        "reportingController": event.get("reportingComponent") or event.get("source", {}).get("component", ""),
        "reportingInstance": event.get("reportingInstance", ""),
        "action": event.get("action", ""),
        "reason": event.get("reason", ""),
        "regarding": event.get("involvedObject", {}),
        "note": event.get("message", ""),
        "type": event.get("type", ""),
        "deprecatedSource": event.get("source", {}),
        "deprecatedCount": event.get("count", 0),
        "deprecatedFirstTimestamp": event.get("firstTimestamp"),
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
    }
    if event.get("related"):
        out["related"] = event["related"]
    return {k: v for k, v in out.items() if v not in (None, "")}


def access_review(store: Store, review: Obj) -> Obj:
    """Allowed unless the target forbids the verb on the resource (``forbid-create``)."""
    attrs = review.get("spec", {}).get("resourceAttributes") or {}
    allowed, reason = True, "the local target allows everything to its single user"
    if attrs and attrs.get("verb") == "create":
        key = f"{attrs.get('resource', '')}.{attrs['group']}" if attrs.get("group") else attrs.get("resource", "")
        if key in store.forbidden_create:
            allowed, reason = False, f"RBAC: {key} may not be created (the target runs with forbid-create)"
    result = {
        **review,
        "apiVersion": ACCESS_REVIEWS.api_version,
        "kind": ACCESS_REVIEWS.kind,
        "metadata": {"creationTimestamp": None},
        "status": {"allowed": allowed, "reason": reason},
    }
    if not allowed:
        result["status"]["denied"] = True
    return result


def subject_review() -> Obj:
    return {
        "apiVersion": SUBJECT_REVIEWS.api_version,
        "kind": SUBJECT_REVIEWS.kind,
        "metadata": {"creationTimestamp": now()},
        "status": {"userInfo": USER},
    }


async def review(request: web.Request, store: Store, resource: Resource, body: Obj) -> web.Response:
    if request.method != "POST":
        raise ApiError(405, "MethodNotAllowed", f"{resource.plural} can only be created")
    if resource is ACCESS_REVIEWS:
        return web.json_response(access_review(store, body), status=201)
    return web.json_response(subject_review(), status=201)


async def health(request: web.Request) -> web.Response:
    name = request.path.strip("/")
    if "verbose" in request.query:
        lines = [f"[+]{check} ok" for check in HEALTH_CHECKS]
        return web.Response(text="\n".join([*lines, f"{name} check passed", ""]))
    return web.Response(text="ok")
