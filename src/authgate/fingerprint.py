"""Short, non-reversible fingerprints of secrets, for logs and audit (never the secret itself)."""

from __future__ import annotations

import hashlib

__all__ = ["fingerprint"]


def fingerprint(secret: str | bytes) -> str:
    """``sha256(secret)[:12]`` in hex: enough to correlate log lines, useless to an attacker."""
    data = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(data).hexdigest()[:12]
