"""Decoding the Kubernetes protobuf request bodies that kubectl sends for built-in types.

client-go's generated clients prefer ``application/vnd.kubernetes.protobuf`` for built-in kinds
and, unlike CBOR, never fall back to JSON on 415: every kube-apiserver speaks it. So
``kubectl create namespace`` or ``kubectl auth can-i`` only work here if the server decodes it.
Responses stay JSON, which those clients also accept (their ``Accept`` lists both).

Why not the ``protobuf`` package: it needs full descriptors, and its JSON mapping is not
Kubernetes' (int64 as strings, ``Time`` as a message). The wire format itself is five lines; the
messages served are data (``data/protobuf-messages.yaml``, field numbers from the published
``generated.proto``). A kind outside that file gets 415, naming the kinds that are decoded.
"""

from __future__ import annotations

import base64
import datetime
import functools
from pathlib import Path
from typing import Any

import yaml

from kserve_local.apiserver.store import ApiError, Obj

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
SCHEMA = Path(__file__).parent / "data" / "protobuf-messages.yaml"
Fields = dict[int, tuple[str, str]]


@functools.cache
def _schema() -> tuple[dict[str, str], dict[str, Fields]]:
    data = yaml.safe_load(SCHEMA.read_text())
    messages = {
        name: {int(n): (spec[0], spec[1]) for n, spec in fields.items()} for name, fields in data["messages"].items()
    }
    return data["kinds"], messages


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs: varints as ints, length-delimited fields as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            out.append((number, buf[pos : pos + length]))
            pos += length
        elif wire in (1, 5):  # fixed64/fixed32: no Kubernetes type uses them; skip
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _value(kind: str, raw: int | bytes, messages: dict[str, Fields]) -> Any:
    if kind == "string":
        return bytes(raw).decode() if isinstance(raw, bytes) else str(raw)
    if kind == "bytes":
        return base64.b64encode(raw).decode() if isinstance(raw, bytes) else ""
    if kind == "bool":
        return bool(raw)
    if kind == "int":
        return raw - (1 << 64) if isinstance(raw, int) and raw >= 1 << 63 else raw
    if kind == "time":
        seconds = dict(_fields(raw)).get(1, 0) if isinstance(raw, bytes) else 0
        if not seconds:
            return None  # Go's zero time: JSON null, i.e. absent
        stamp = datetime.datetime.fromtimestamp(int(seconds), datetime.UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(raw, bytes):
        raise ValueError(f"expected a {kind} message")
    return message(kind, raw, messages)


def message(name: str, buf: bytes, messages: dict[str, Fields] | None = None) -> Obj:
    """One message as Kubernetes' JSON would have it; unknown field numbers are dropped."""
    messages = messages if messages is not None else _schema()[1]
    fields = messages[name]
    out: Obj = {}
    for number, raw in _fields(buf):
        if number not in fields:
            continue
        json_name, kind = fields[number]
        if kind.startswith("map<"):
            entry = dict(_fields(raw)) if isinstance(raw, bytes) else {}
            value_kind = kind[len("map<string,") : -1]
            out.setdefault(json_name, {})[_value("string", entry.get(1, b""), messages)] = _value(
                value_kind, entry.get(2, b""), messages
            )
        elif kind.startswith("repeated "):
            out.setdefault(json_name, []).append(_value(kind.removeprefix("repeated "), raw, messages))
        else:
            value = _value(kind, raw, messages)
            if value not in ("", 0, None) or isinstance(value, bool):  # Go's omitempty zero values
                out[json_name] = value
    return out


def decode(body: bytes) -> Obj:
    """A ``k8s\\0``-prefixed ``runtime.Unknown`` envelope, decoded into a JSON-shaped object."""
    kinds, messages = _schema()
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "protobuf body does not start with the Kubernetes magic prefix")
    try:
        envelope = message("runtime.Unknown", body[len(MAGIC) :], messages)
        type_meta = envelope.get("typeMeta", {})
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        name = kinds.get(f"{api_version}/{kind}")
        if name is None:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the local target decodes protobuf only for {', '.join(sorted(kinds))}; "
                f"send {api_version}/{kind} as application/json",
            )
        obj = message(name, base64.b64decode(envelope.get("raw", "")), messages)
    except (ValueError, KeyError, UnicodeDecodeError) as err:
        raise ApiError(400, "BadRequest", f"invalid protobuf body: {err}") from err
    return {"apiVersion": api_version, "kind": kind, **obj}
