"""Documentation stays in step with the code: every error code is explained once."""

from __future__ import annotations

import re
from pathlib import Path

from authgate.errors import ErrorCode

ROOT = Path(__file__).resolve().parents[2]


def test_every_error_code_is_in_troubleshooting() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    documented = re.findall(r"^\| `([a-z_.]+)` \|", text, flags=re.MULTILINE)
    assert len(documented) == len(set(documented)), "a code is documented twice"
    missing = sorted({c.value for c in ErrorCode} - set(documented))
    assert not missing, f"add these codes to docs/troubleshooting.md: {missing}"
    stale = sorted(set(documented) - {c.value for c in ErrorCode})
    assert not stale, f"docs/troubleshooting.md lists codes that no longer exist: {stale}"
