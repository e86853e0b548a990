"""``python -m authgate.demo.field NAME``: print one field of the JSON object on stdin (RFC 8259).

Why: the demo's copy-paste lines capture tokens into shell variables without needing ``jq``.
Exit status 1 (and a message on stderr) when the input is not JSON or lacks the field, so a
failed token request is visible instead of an empty variable.
"""

from __future__ import annotations

import sys

import orjson


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m authgate.demo.field NAME < document.json", file=sys.stderr)
        return 2
    raw = sys.stdin.buffer.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        print(f"not JSON: {raw[:200]!r}", file=sys.stderr)
        return 1
    if not isinstance(data, dict) or args[0] not in data:
        print(f"no field {args[0]!r} in: {raw[:300].decode(errors='replace')}", file=sys.stderr)
        return 1
    print(data[args[0]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
