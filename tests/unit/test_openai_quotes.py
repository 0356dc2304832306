"""Every sentence the openai checks quote is in the OpenAI reference, word for word.

A check's ``spec``, an error case's ``spec`` (``payloads/openai.yaml``) and a known
deviation's ``spec`` quote the reference in double quotes. Each quoted span must occur in
``openai/openapi.yaml``, either in its text (for schema fragments such as ``"minimum: 0"``) or in
one of its string values (for prose the YAML folds across lines), with runs of whitespace read as
one space. A paraphrase in quotes, or a sentence the reference dropped, fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.features import Feature
from kserve_conformance.dataplane import oip
from tests.controls.test_every_check_has_a_control import all_checks

QUOTED = re.compile(r'"([^"]+)"')


def normal(text: str) -> str:
    return " ".join(text.split())


def strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for value in doc.values():
            yield from strings(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from strings(value)
    elif isinstance(doc, str):
        yield doc


@cache
def corpus(reference: Path) -> str:
    raw = (reference / "openai" / "openapi.yaml").read_text()
    values = "\n".join(normal(s) for s in strings(yaml.safe_load(raw)))
    return normal(raw.replace("'", '"')) + "\n" + normal(raw) + "\n" + values


def openai_checks() -> dict[str, str]:
    """Each openai check's spec quote (its rule is the suite's own words and quotes nothing)."""
    return {name: c.spec for name, c in all_checks().items() if Feature.OPENAI in c.features}


def quoted_texts() -> list[tuple[str, str]]:
    texts = [(f"check {name}", text) for name, text in openai_checks().items()]
    texts += [(f"error case {c['id']}", c["spec"]) for c in load_yaml(DATA / "payloads" / "openai.yaml")["errors"]]
    names = set(openai_checks())
    texts += [(f"deviation {d.check}/{d.server}/{d.case}", d.spec) for d in oip.deviations() if d.check in names]
    return texts


def test_the_openai_checks_are_found() -> None:
    assert {"ModelList", "CompletionStop", "StreamDone", "UnknownModelStatus", "ClientParses"} <= set(openai_checks())


@pytest.mark.parametrize(("where", "text"), quoted_texts(), ids=[w for w, _ in quoted_texts()])
def test_every_quote_is_in_the_reference(reference: Path, where: str, text: str) -> None:
    spans = QUOTED.findall(text)
    assert spans, f"{where} quotes nothing from the reference: {text!r}"
    missing = [s for s in spans if normal(s) not in corpus(reference)]
    assert not missing, f"{where} quotes what the reference does not say: {missing}"


def test_a_paraphrase_is_caught(reference: Path) -> None:
    assert normal("Each chunk has the same ID.") in corpus(reference)
    assert normal("Each chunk always has the same ID.") not in corpus(reference)
