"""How the API server answers when a validating admission webhook denies a request.

kube-apiserver frames the webhook's own status (``k8s.io/apiserver``'s
``admission/plugin/webhook/errors/statuserror.go``, ``ToStatusErr``): the message becomes
``<resource>.<group> "<name>" is forbidden: admission webhook "<webhook>" denied the request:
<message>``, the code is the webhook's (controller-runtime's ``Denied`` sends 403 Forbidden),
and the details name the group, the resource (as ``kind``, as ``apierrors.NewForbidden`` does)
and the object. Older API servers left out the ``... is forbidden:`` prefix; clients key on
``denied the request``.
"""

from __future__ import annotations

from kserve_local.apiserver.store import ApiError, Resource


def denied(resource: Resource, name: str, webhook: str, message: str, code: int = 403) -> ApiError:
    """The error a client gets when ``webhook`` refuses ``name`` with ``message``."""
    shown = name or "Unknown"
    err = ApiError(
        code,
        "Forbidden",
        f'{resource.key} "{shown}" is forbidden: admission webhook "{webhook}" denied the request: {message}',
    )
    err.details = {"name": shown, "group": resource.group, "kind": resource.plural}
    return err
