"""What the V2 (Open Inference Protocol) checks share: reading an answer, its schema, the error cases.

The error cases are ``conformance/data/payloads/iris-v2.yaml``'s ``errors``; the schemas are
``oip.schemas()``.
"""

from __future__ import annotations

from typing import Any

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.dataplane import oip
from kserve_conformance.dataplane.rest import Exchange

ERROR_CASES: list[dict[str, Any]] = load_yaml(DATA / "payloads" / "iris-v2.yaml")["errors"]


def json_of(exchange: Exchange) -> Any:
    """The answer's JSON; an answer that is not JSON (or not labelled so) fails naming why."""
    doc, problem = oip.body_json(exchange.status, exchange.response_headers, exchange.response_body)
    assert problem is None, f"{exchange.method} {exchange.url} answered {problem}"
    return doc


def conforms(exchange: Exchange, schema: str) -> Any:
    """The 2xx answer's JSON, which must conform to the OIP ``schema``."""
    assert 200 <= exchange.status < 300, f"expected success, got {exchange.describe()}"
    doc = json_of(exchange)
    problems = oip.schema_problems(doc, schema)
    assert not problems, f"response does not conform to the OIP {schema} schema: {'; '.join(problems)}"
    return doc


def cases(**where: Any) -> list[str]:
    """The ids of the error cases whose fields equal ``where``."""
    return [c["id"] for c in ERROR_CASES if all(c.get(k) == v for k, v in where.items())]
