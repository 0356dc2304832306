"""The official ``openai`` Python client reads every answer: what users call these endpoints with.

The raw-HTTP checks judge the bytes; this one judges whether the client a user actually runs
gets through: it lists models, completes, chats, streams both, and turns an unknown model into
``openai.NotFoundError``. A body the client cannot parse (or parses into the wrong types) fails
here even when a hand-written reader would cope. Quotes are from the OpenAI API reference.
"""

from __future__ import annotations

from typing import Any

import allure
import openai as client_library
import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import conformance
from kserve_conformance.dataplane import openai_client as client
from kserve_conformance.dataplane.openai import OpenAIPlane

pytestmark = [pytest.mark.services(protocol="openai"), pytest.mark.usefixtures("kserve_openai_deviation")]


@pytest.mark.parametrize("call", list(client.CALLS))
@conformance(
    "ClientParses",
    "The official openai Python client parses the answer (the reference's SDK examples call these endpoints with it), "
    "and an unknown model raises its NotFoundError.",
    spec='"from openai import OpenAI"',
    features=(Feature.OPENAI,),
)
def test_client_parses(kserve_openai: OpenAIPlane, call: str) -> None:
    c = client.client_of(kserve_openai)
    with allure.step(f"openai client: {call}"):
        try:
            result: Any = client.CALLS[call](c, kserve_openai)
        except client_library.APIError as err:
            raise AssertionError(f"the openai client failed on {call}: {err.__class__.__name__}: {err}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise AssertionError(f"the openai client could not parse the {call} answer: {err!r}") from None
        allure.attach(str(result)[:2000], name=f"client {call}", attachment_type=allure.attachment_type.TEXT)
