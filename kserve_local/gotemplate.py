"""The part of Go's text/template that KServe's and Knative's domain and path templates use.

KServe renders ``ingress.domainTemplate`` and ``ingress.pathTemplate``, and Knative renders
``config-network``'s ``domain-template``, with Go's text/template over a struct of a few fields
(``Name``, ``Namespace``, ``IngressDomain`` or ``Domain``) and two ``map[string]string`` fields
(``Annotations``, ``Labels``). The documented forms are field chains (``{{ .Name }}``,
``{{ .Annotations.key }}``) and ``{{ index .Labels "key" }}``, with ``{{-``/``-}}`` trimming.

This is written from text/template's documented semantics, not from any other renderer in the
project, so that the URLs the target writes are an independent oracle for the suite's own. Where
Go differs by path, so does this: a missing map key reached by a field chain prints
``<no value>`` (the invalid value), through ``index`` it is the element type's zero value, ``""``;
a field the struct does not have is an error, as ``can't evaluate field``.

Imports nothing from the rest of the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NO_VALUE = "<no value>"
Data = Mapping[str, "str | Mapping[str, str]"]


class TemplateError(ValueError):
    """A template that Go would refuse to parse or execute, or that uses what this does not render."""


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Field:
    chain: tuple[str, ...]  # .A.B -> ("A", "B")


@dataclass(frozen=True)
class _Index:
    chain: tuple[str, ...]
    keys: tuple[str, ...]


_Node = _Text | _Field | _Index


def _lex_action(source: str, template: str) -> list[str]:
    """An action's words: identifiers/field chains and double-quoted strings (escapes resolved)."""
    words: list[str] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j, out = i + 1, []
            while j < len(source) and source[j] != '"':
                if source[j] == "\\" and j + 1 < len(source):
                    j += 1
                    out.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(source[j], source[j]))
                else:
                    out.append(source[j])
                j += 1
            if j >= len(source):
                raise TemplateError(f"unterminated quoted string in {template!r}")
            words.append('"' + "".join(out))  # the leading quote marks a string word
            i = j + 1
        else:
            j = i
            while j < len(source) and not source[j].isspace() and source[j] != '"':
                j += 1
            words.append(source[i:j])
            i = j
    return words


def _chain(word: str, template: str) -> tuple[str, ...]:
    if not word.startswith(".") or word == ".":
        raise TemplateError(f"unsupported operand {word!r} in {template!r}")
    parts = tuple(word[1:].split("."))
    if not all(p and (p[0].isalpha() or p[0] == "_") and p.replace("_", "a").isalnum() for p in parts):
        raise TemplateError(f"bad field chain {word!r} in {template!r}")
    return parts


def parse(template: str) -> list[_Node]:
    """Text and actions, with ``{{-``/``-}}`` trimming applied to the neighbouring text."""
    nodes: list[_Node] = []
    pos, trim_next = 0, False
    while True:
        start = template.find("{{", pos)
        text = template[pos:] if start < 0 else template[pos:start]
        if trim_next:
            text = text.lstrip()
        if start < 0:
            if text:
                nodes.append(_Text(text))
            return nodes
        end = template.find("}}", start + 2)
        if end < 0:
            raise TemplateError(f"unclosed action in {template!r}")
        inner = template[start + 2 : end]
        if inner.startswith("- ") or inner.startswith("-\t"):
            text, inner = text.rstrip(), inner[1:]
        trim_next = inner.endswith(" -") or inner.endswith("\t-")
        if trim_next:
            inner = inner[:-1]
        if text:
            nodes.append(_Text(text))
        nodes.append(_action(_lex_action(inner, template), template))
        pos = end + 2


def _action(words: list[str], template: str) -> _Node:
    if not words:
        raise TemplateError(f"empty action in {template!r}")
    if words[0] == "index":
        if len(words) < 3 or any(not w.startswith('"') for w in words[2:]):
            raise TemplateError(f'only {{{{ index .Field "key" }}}} is rendered, in {template!r}')
        return _Index(_chain(words[1], template), tuple(w[1:] for w in words[2:]))
    if len(words) != 1:
        raise TemplateError(f"unsupported action {' '.join(words)!r} in {template!r}")
    return _Field(_chain(words[0], template))


def _walk(data: Data, chain: tuple[str, ...], template: str) -> str | Mapping[str, str] | None:
    """Follow a field chain: struct fields must exist; a missing map key is Go's invalid value (None)."""
    head, *rest = chain
    if head not in data:
        raise TemplateError(f"can't evaluate field {head} in {template!r}")
    value: str | Mapping[str, str] | None = data[head]
    for key in rest:
        if not isinstance(value, Mapping):
            raise TemplateError(f"can't evaluate field {key} of a string in {template!r}")
        value = value.get(key)
        if value is None:
            return None
    return value


def render(template: str, data: Data) -> str:
    """Execute ``template`` over ``data`` (a struct's fields; maps for Annotations and Labels)."""
    out: list[str] = []
    for node in parse(template):
        if isinstance(node, _Text):
            out.append(node.text)
            continue
        value = _walk(data, node.chain, template)
        if isinstance(node, _Index):
            for key in node.keys:
                if not isinstance(value, Mapping):
                    raise TemplateError(f"can't index a string with {key!r} in {template!r}")
                value = value.get(key, "")
        if value is None:
            out.append(NO_VALUE)
        elif isinstance(value, Mapping):
            out.append("map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]")
        else:
            out.append(value)
    return "".join(out)
