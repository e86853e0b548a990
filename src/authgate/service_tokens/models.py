"""SQL schema (SQLAlchemy 2 Core tables) for service tokens, their secrets and audit events.

Times are float epoch seconds, not ``DateTime``: the injected clock speaks epoch seconds,
SQLite has no time zone-aware type, and comparisons stay identical on both engines. The
tables are defined once here; ``migrations/`` creates them (never ``metadata.create_all``,
so PostgreSQL deployments can be upgraded in place).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["SecretStatus", "TokenStatus", "audit_events", "metadata", "token_secrets", "tokens"]

metadata = MetaData()


class TokenStatus(StrEnum):
    """Lifecycle of a token. ``rotated`` describes a secret replaced by a newer one."""

    ACTIVE = "active"
    ROTATED = "rotated"
    REVOKED = "revoked"
    EXPIRED = "expired"


class SecretStatus(StrEnum):
    ACTIVE = "active"
    ROTATED = "rotated"


tokens = Table(
    "authgate_service_tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("scopes", JSON, nullable=False),
    Column("workspaces", JSON, nullable=False),
    Column("allowed_cidrs", JSON, nullable=False),
    # Only "active" or "revoked" is stored; "expired" is derived from expires_at at read time.
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("last_used_at", Float, nullable=True),
    Column("revoked_at", Float, nullable=True),
    Column("revoke_reason", Text, nullable=True),
)

# One row per secret ever issued for a token; rotation adds a row and bounds the old one.
token_secrets = Table(
    "authgate_service_token_secrets",
    metadata,
    Column(
        "token_id",
        String(64),
        ForeignKey("authgate_service_tokens.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("secret_hash", LargeBinary(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("valid_until", Float, nullable=True),
)

audit_events = Table(
    "authgate_audit_events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("ts", Float, nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("code", String(64), nullable=True),
    Column("subject", String(256), nullable=True),
    Column("token_id", String(64), nullable=True),
    Column("token_fingerprint", String(16), nullable=True),
    Column("client_ip", String(64), nullable=True),
    Column("route", String(512), nullable=True),
    Column("request_id", String(128), nullable=True),
    Column("detail", JSON, nullable=True),
    Index("ix_authgate_audit_events_ts", "ts"),
    Index("ix_authgate_audit_events_subject", "subject"),
)
