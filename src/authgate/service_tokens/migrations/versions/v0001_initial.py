"""Initial schema: service tokens, their secrets, audit events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authgate_service_tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("workspaces", sa.JSON, nullable=False),
        sa.Column("allowed_cidrs", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("last_used_at", sa.Float, nullable=True),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "authgate_service_token_secrets",
        sa.Column(
            "token_id",
            sa.String(64),
            sa.ForeignKey("authgate_service_tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("valid_until", sa.Float, nullable=True),
    )
    op.create_table(
        "authgate_audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(256), nullable=True),
        sa.Column("token_id", sa.String(64), nullable=True),
        sa.Column("token_fingerprint", sa.String(16), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("route", sa.String(512), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_index("ix_authgate_audit_events_ts", "authgate_audit_events", ["ts"])
    op.create_index("ix_authgate_audit_events_subject", "authgate_audit_events", ["subject"])


def downgrade() -> None:
    op.drop_table("authgate_audit_events")
    op.drop_table("authgate_service_token_secrets")
    op.drop_table("authgate_service_tokens")
