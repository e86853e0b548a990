"""Strict I-JSON parsing (RFC 7493 §2) for JOSE headers and JWT claim sets.

RFC 7515 §5.2 lets a parser either reject duplicate member names or keep the last one; keeping
the last one is how "which `alg` did you see?" confusion attacks start, so we reject them, at
every depth. ``orjson`` does the parsing (it already refuses invalid UTF-8, lone surrogates,
NaN/Infinity and a BOM) but silently keeps the last duplicate, so duplicates are found by
counting member-name tokens in the raw text and comparing with the keys actually parsed: any
duplicate — including an escaped spelling such as ``"\\u0061"`` next to ``"a"`` — makes the raw
count larger. The tokenizer matches *every* string, so it never starts inside one.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["MAX_DEPTH", "JSONError", "loads_object"]

MAX_DEPTH = 32

# Every JSON string, with an optional ':' after it (only member names are followed by ':').
_STRING_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?', re.DOTALL)


class JSONError(ValueError):
    """The text is not a strict JSON object; the message says why (never quotes the text)."""


def loads_object(data: bytes) -> dict[str, Any]:
    """Parse ``data`` as a JSON object with unique member names and at most MAX_DEPTH levels."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JSONError(f"not valid JSON ({exc.msg})") from None
    if type(value) is not dict:
        raise JSONError(f"expected a JSON object, got a JSON {_kind(value)}")
    tokens = _STRING_TOKEN.findall(data)  # one per string: b":" after a member name, else b""
    if len(tokens) - tokens.count(b"") != _count_keys(value, 1):
        raise JSONError("duplicate member name in JSON object")
    return value


def _count_keys(value: Any, depth: int) -> int:
    if depth > MAX_DEPTH:
        raise JSONError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if type(value) is dict:
        total = len(value)
        for v in value.values():
            if type(v) is dict or type(v) is list:
                total += _count_keys(v, depth + 1)
        return total
    total = 0
    for v in value:
        if type(v) is dict or type(v) is list:
            total += _count_keys(v, depth + 1)
    return total


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
