"""Strict I-JSON parsing (RFC 7493 §2) for JOSE headers and JWT claim sets.

RFC 7515 §5.2 lets a parser either reject duplicate member names or keep the last one; keeping
the last one is how "which `alg` did you see?" confusion attacks start, so we reject them, at
every depth. ``orjson`` does the parsing (it already refuses invalid UTF-8, lone surrogates,
NaN/Infinity and a BOM) but silently keeps the last duplicate, so duplicates are found by
comparing the raw text with what was parsed, cheapest proof first: re-serialising gives the
very same bytes (typical for IdP-minted tokens); else, for text without backslashes, the quote
count matches two per member name and string value; else a tokenizer that matches *every*
string (so it never starts inside one) counts member names. A duplicate — including an escaped
spelling such as ``"\\u0061"`` next to ``"a"`` — always leaves the text with more.
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
    # Fast path: if re-serialising the parsed value gives back the very same bytes, the text
    # holds exactly the parsed members; few enough brackets bound the depth without a walk.
    brackets = len(data) - len(data.translate(None, b"{["))
    if brackets <= MAX_DEPTH and orjson.dumps(value) == data:
        return value
    keys, strings = _count(value, 1)
    if b"\\" not in data:
        # Without escapes every '"' delimits a string: two per member name and string value.
        # A dropped duplicate member makes the text hold more strings than the parsed value.
        if data.count(b'"') != 2 * (keys + strings):
            raise JSONError("duplicate member name in JSON object")
        return value
    tokens = _STRING_TOKEN.findall(data)  # one per string: b":" after a member name, else b""
    if len(tokens) - tokens.count(b"") != keys:
        raise JSONError("duplicate member name in JSON object")
    return value


def _count(value: dict[str, Any] | list[Any], depth: int) -> tuple[int, int]:
    """(member names, string values) in ``value``, refusing nesting deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise JSONError(f"JSON nested deeper than {MAX_DEPTH} levels")
    keys = 0
    strings = 0
    if type(value) is dict:
        keys = len(value)
        items: Any = value.values()
    else:
        items = value
    for item in items:
        kind = type(item)
        if kind is str:
            strings += 1
        elif kind is dict or kind is list:
            inner_keys, inner_strings = _count(item, depth + 1)
            keys += inner_keys
            strings += inner_strings
    return keys, strings


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
