"""OpenAI-compatible errors: an unknown model, and requests the reference rules out.

The status and the body are judged by separate checks, so a server that refuses with the right
status but the wrong body shows both verdicts. The error object is the reference's
``ErrorResponse``: ``{"error": {"message", "type", "param", "code"}}``, all four required,
``param`` and ``code`` a string or null. Levels follow the rule in
``kserve_conformance.checks.spec``. Quotes are from the OpenAI API reference (``openai/openapi.yaml``).
"""

from __future__ import annotations

from typing import Any

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance
from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane import openai_checks as oc
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.reporting import openai_steps as steps

pytestmark = [pytest.mark.services(protocol="openai"), pytest.mark.usefixtures("kserve_openai_deviation")]
UNKNOWN = oc.UNKNOWN_MODEL
CASES: list[dict[str, Any]] = oc.PAYLOADS["errors"]
by_case = pytest.mark.parametrize("error_case", CASES, ids=[c["id"] for c in CASES])


@pytest.mark.parametrize("kind", oc.KINDS)
@conformance(
    "UnknownModelStatus",
    "A request for a model the server does not serve is answered 404 with the Error object.",
    spec='model is the "ID of the model to use"; the reference answers a resource that does not exist with "404" "Not '
    'Found"',
    features=(Feature.OPENAI,),
)
def test_unknown_model_status(kserve_openai: OpenAIPlane, kind: str) -> None:
    exchange = steps.post(kserve_openai, kind, oc.body(kserve_openai, kind, model=UNKNOWN))
    assert exchange.status == 404, f"model {UNKNOWN!r}: expected 404, got {exchange.describe()}"


@pytest.mark.parametrize("kind", oc.KINDS)
@conformance(
    "UnknownModelBody",
    "The unknown model's error answer carries the error object (an error with type, message, param and code, the code "
    "a string or null).",
    spec='ErrorResponse requires "error", an Error requiring "type", "message", "param" and "code"',
    level=EXTENDED,
    features=(Feature.OPENAI,),
)
def test_unknown_model_body(kserve_openai: OpenAIPlane, kind: str) -> None:
    exchange = steps.post(kserve_openai, kind, oc.body(kserve_openai, kind, model=UNKNOWN))
    assert exchange.status >= 400, f"model {UNKNOWN!r} was not refused: {exchange.describe()}"
    problem = openai.error_object_problem(exchange)
    assert problem is None, problem


@by_case
@conformance(
    "InvalidRequestStatus",
    "A request the reference rules out (max_tokens below its minimum, a temperature outside its range, a missing "
    "required field, a body that is not JSON) is refused with a 4xx, the client's error.",
    spec='"minimum: 0"; "between 0 and 2"; the reference\'s 400 is a "Bad request"',
    level=EXTENDED,
    features=(Feature.OPENAI,),
)
def test_invalid_request_status(kserve_openai: OpenAIPlane, error_case: dict[str, Any]) -> None:
    exchange = steps.post_case(kserve_openai, error_case)
    assert 400 <= exchange.status < 500, (
        f"{error_case['id']} ({error_case['spec']}): expected a 4xx for the client's bad request, got "
        f"{exchange.describe()}"
    )


@by_case
@conformance(
    "InvalidRequestBody",
    "The refusal of a request the reference rules out carries the error object (ErrorResponse: error with type, "
    "message, param and code).",
    spec='ErrorResponse: "error" with "type", "message", "param" and "code"',
    level=EXTENDED,
    features=(Feature.OPENAI,),
)
def test_invalid_request_body(kserve_openai: OpenAIPlane, error_case: dict[str, Any]) -> None:
    exchange = steps.post_case(kserve_openai, error_case)
    assert exchange.status >= 400, f"{error_case['id']} was not refused: {exchange.describe()}"
    problem = openai.error_object_problem(exchange)
    assert problem is None, f"{error_case['id']}: {problem}"
