"""Service token store: an async SQLAlchemy 2 store over SQLite (default) or PostgreSQL.

Only ``sha256`` of the secret is kept. Why not a keyed hash (HMAC with a server pepper): the
secret is 256 random bits, so there is nothing to brute-force offline even from a stolen
database, and a pepper would be one more key that every instance must share and rotate. Why
not a slow hash (argon2/bcrypt): those defend low-entropy passwords and would cost
milliseconds per request. The id is hashed in with the secret so a hash row cannot be moved
from one token to another. Lookups go by primary key (the id is not secret); only the hash
comparison touches secret material, and it is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from authgate.clock import Clock, system_clock
from authgate.service_tokens.models import SecretStatus, TokenStatus, token_secrets, tokens
from authgate.service_tokens.settings import TokenSettings, async_database_url

__all__ = [
    "AuthRecord",
    "SecretInfo",
    "TokenExistsError",
    "TokenNotFoundError",
    "TokenRecord",
    "TokenStore",
    "hash_secret",
    "secret_matches",
]

_DOMAIN = b"authgate-service-token-v1\x00"
# Rotated secrets stay readable a day past their end so a late caller hears "rotated", not
# "invalid"; older ones are never loaded on the request path.
_ROTATED_GRACE = 86_400.0


def hash_secret(token_id: str, secret: str) -> bytes:
    return hashlib.sha256(_DOMAIN + token_id.encode() + b"\x00" + secret.encode()).digest()


def secret_matches(candidate: bytes, stored: Sequence[bytes]) -> int:
    """Index of the stored hash equal to ``candidate`` or -1; compares all, constant-time each."""
    found = -1
    for index, value in enumerate(stored):
        if hmac.compare_digest(candidate, value):
            found = index
    return found


class TokenNotFoundError(LookupError):
    """No token has this id."""


class TokenExistsError(ValueError):
    """A token with this id already exists."""


@dataclass(frozen=True, slots=True)
class SecretInfo:
    generation: int
    status: SecretStatus
    created_at: float
    valid_until: float | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token's metadata as an administrator sees it (no secret material)."""

    id: str
    description: str
    scopes: tuple[str, ...]
    workspaces: tuple[str, ...]
    allowed_cidrs: tuple[str, ...]
    stored_status: TokenStatus
    created_at: float
    created_by: str
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    revoke_reason: str | None
    secrets: tuple[SecretInfo, ...] = ()

    def status(self, now: float) -> TokenStatus:
        if self.stored_status is TokenStatus.REVOKED:
            return TokenStatus.REVOKED
        if self.expires_at is not None and now >= self.expires_at:
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "status": str(self.status(now)),
            "scopes": list(self.scopes),
            "workspaces": list(self.workspaces),
            "allowed_cidrs": list(self.allowed_cidrs),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "revoke_reason": self.revoke_reason,
            "secrets": [
                {
                    "generation": s.generation,
                    "status": str(s.status),
                    "created_at": s.created_at,
                    "valid_until": s.valid_until,
                }
                for s in self.secrets
            ],
        }


@dataclass(frozen=True, slots=True)
class AuthRecord:
    """What authentication needs, loaded in one query: token facts plus live secret hashes."""

    token_id: str
    status: TokenStatus
    scopes: frozenset[str]
    workspaces: frozenset[str]
    allowed_cidrs: tuple[str, ...]
    expires_at: float | None
    hashes: tuple[bytes, ...]
    valid_until: tuple[float | None, ...]


def _record(row: Row[Any], secrets: Sequence[SecretInfo] = ()) -> TokenRecord:
    m = row._mapping
    return TokenRecord(
        id=m["id"],
        description=m["description"],
        scopes=tuple(m["scopes"]),
        workspaces=tuple(m["workspaces"]),
        allowed_cidrs=tuple(m["allowed_cidrs"]),
        stored_status=TokenStatus(m["status"]),
        created_at=m["created_at"],
        created_by=m["created_by"],
        expires_at=m["expires_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
        revoke_reason=m["revoke_reason"],
        secrets=tuple(secrets),
    )


class TokenStore:
    """Async CRUD over the token tables; one engine, shared with the SQL audit sink."""

    def __init__(self, url: str, *, clock: Clock = system_clock, **engine_args: Any) -> None:
        self.url = async_database_url(url)
        if self.url.startswith("sqlite+aiosqlite:///") and not self.url.endswith(":memory:"):
            Path(self.url.removeprefix("sqlite+aiosqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_args)
        # The request-path read needs no transaction: on PostgreSQL autocommit skips a BEGIN
        # and a ROLLBACK round trip per lookup (same pool). On aiosqlite, switching the mode
        # costs two thread hops per checkout, more than it saves, so SQLite keeps the default.
        self._reader = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: TokenSettings, *, clock: Clock = system_clock) -> TokenStore:
        return cls(settings.database_url(), clock=clock)

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        from authgate.service_tokens.migrations import upgrade  # alembic only when asked

        await upgrade(self.engine)

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def insert(
        self, fields: Mapping[str, Any], secret_hash: bytes, *, now: float
    ) -> TokenRecord:
        row = {**fields, "status": str(TokenStatus.ACTIVE), "created_at": now}
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(tokens).values(row))
                await conn.execute(
                    insert(token_secrets).values(
                        token_id=row["id"],
                        generation=1,
                        secret_hash=secret_hash,
                        status=str(SecretStatus.ACTIVE),
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise TokenExistsError(f"a token with id {row['id']!r} already exists") from None
        return await self.require(row["id"])

    async def get(self, token_id: str) -> TokenRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tokens).where(tokens.c.id == token_id))).first()
            if row is None:
                return None
            secret_rows = await conn.execute(
                select(token_secrets)
                .where(token_secrets.c.token_id == token_id)
                .order_by(token_secrets.c.generation)
            )
            secrets = [
                SecretInfo(r.generation, SecretStatus(r.status), r.created_at, r.valid_until)
                for r in secret_rows
            ]
        return _record(row, secrets)

    async def require(self, token_id: str) -> TokenRecord:
        record = await self.get(token_id)
        if record is None:
            raise TokenNotFoundError(f"no service token has id {token_id!r}")
        return record

    async def list(self) -> list[TokenRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(tokens).order_by(tokens.c.created_at, tokens.c.id))
            return [_record(row) for row in rows]

    async def auth_record(self, token_id: str) -> AuthRecord | None:
        """The token and its recently valid secrets in one round trip (the request path)."""
        cutoff = self.clock.time() - _ROTATED_GRACE
        query = (
            select(
                tokens.c.status,
                tokens.c.scopes,
                tokens.c.workspaces,
                tokens.c.allowed_cidrs,
                tokens.c.expires_at,
                token_secrets.c.secret_hash,
                token_secrets.c.valid_until,
            )
            .join(token_secrets, token_secrets.c.token_id == tokens.c.id)
            .where(tokens.c.id == token_id)
            .where((token_secrets.c.valid_until.is_(None)) | (token_secrets.c.valid_until > cutoff))
        )
        async with self._reader.connect() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return None
        first = rows[0]
        return AuthRecord(
            token_id=token_id,
            status=TokenStatus(first.status),
            scopes=frozenset(first.scopes),
            workspaces=frozenset(first.workspaces),
            allowed_cidrs=tuple(first.allowed_cidrs),
            expires_at=first.expires_at,
            hashes=tuple(r.secret_hash for r in rows),
            valid_until=tuple(r.valid_until for r in rows),
        )

    async def replace_secret(
        self,
        token_id: str,
        secret_hash: bytes,
        *,
        now: float,
        old_valid_until: float,
        expires_at: float | None,
        set_expiry: bool,
    ) -> TokenRecord:
        """Add a new active secret; bound every current one to ``old_valid_until``."""
        async with self.engine.begin() as conn:
            top = await conn.scalar(
                select(func.max(token_secrets.c.generation)).where(
                    token_secrets.c.token_id == token_id
                )
            )
            if top is None:
                raise TokenNotFoundError(f"no service token has id {token_id!r}")
            live = token_secrets.c.token_id == token_id
            await conn.execute(
                update(token_secrets)
                .where(live & (token_secrets.c.status == str(SecretStatus.ACTIVE)))
                .values(status=str(SecretStatus.ROTATED), valid_until=old_valid_until)
            )
            # An earlier rotation's overlap may outlast this one; never lengthen, only cut.
            await conn.execute(
                update(token_secrets)
                .where(live & (token_secrets.c.valid_until > old_valid_until))
                .values(valid_until=old_valid_until)
            )
            await conn.execute(
                insert(token_secrets).values(
                    token_id=token_id,
                    generation=top + 1,
                    secret_hash=secret_hash,
                    status=str(SecretStatus.ACTIVE),
                    created_at=now,
                )
            )
            if set_expiry:
                await conn.execute(
                    update(tokens).where(tokens.c.id == token_id).values(expires_at=expires_at)
                )
        return await self.require(token_id)

    async def revoke(self, token_id: str, *, reason: str, now: float) -> TokenRecord:
        """Mark revoked; revoking twice keeps the first reason and time."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id)
                .where(tokens.c.status != str(TokenStatus.REVOKED))
                .values(status=str(TokenStatus.REVOKED), revoked_at=now, revoke_reason=reason)
            )
        return await self.require(token_id)

    async def touch(self, last_used: Mapping[str, float]) -> None:
        """Write batched last-used times in one executemany (never moves a time backwards)."""
        if not last_used:
            return
        statement = (
            update(tokens)
            .where(tokens.c.id == bindparam("tid"))
            .where((tokens.c.last_used_at.is_(None)) | (tokens.c.last_used_at < bindparam("when")))
            .values(last_used_at=bindparam("when"))
        )
        params = [{"tid": tid, "when": when} for tid, when in last_used.items()]
        async with self.engine.begin() as conn:
            await conn.execute(statement, params)
