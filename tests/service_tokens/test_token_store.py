"""Store + authenticator suite, run on SQLite and on a real PostgreSQL server (see conftest)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from authgate.authn.base import Credential
from authgate.authn.service_token import ServiceTokenAuthenticator
from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.principal import PrincipalKind
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.format import generate_token
from authgate.service_tokens.migrations import current_revision
from authgate.service_tokens.models import token_secrets, tokens
from authgate.service_tokens.revocation import RevocationFeed
from authgate.service_tokens.rotation import TokenStateError
from authgate.service_tokens.store import (
    AuthRecord,
    TokenExistsError,
    TokenNotFoundError,
    TokenStore,
)
from authgate.service_tokens.usage import LastUsedBatcher

pytestmark = pytest.mark.anyio


class CountingStore:
    """Wraps a store and counts request-path lookups (to prove the cache and checksum skip I/O)."""

    def __init__(self, inner: TokenStore) -> None:
        self.inner = inner
        self.lookups = 0

    async def auth_record(self, token_id: str) -> AuthRecord | None:
        self.lookups += 1
        return await self.inner.auth_record(token_id)


def authn(
    store: TokenStore | CountingStore, clock: ManualClock, **kw: object
) -> ServiceTokenAuthenticator:
    return ServiceTokenAuthenticator(store, clock=clock, **kw)  # type: ignore[arg-type]


async def refused(auth: ServiceTokenAuthenticator, token: str, ip: str | None = None) -> AuthError:
    with pytest.raises(AuthError) as info:
        await auth.authenticate(Credential(token, client_ip=ip))
    return info.value


async def test_migrate_is_idempotent_and_reaches_head(store: TokenStore) -> None:
    await store.migrate()
    assert await current_revision(store.engine) == "0001"


async def test_create_stores_only_a_hash_and_authenticates(
    store: TokenStore, clock: ManualClock
) -> None:
    admin = TokenAdmin(store, clock=clock)
    token, record = await admin.create(
        actor="alice", token_id="ci", scopes=["deploy", "read"], workspaces=["w1"],
        expires_in=3600, description="CI pipeline",
    )  # fmt: skip
    assert record.status(clock.time()) == "active"
    assert record.expires_at == clock.time() + 3600
    async with store.engine.connect() as conn:
        dump = repr((await conn.execute(select(tokens))).all())
        dump += repr((await conn.execute(select(token_secrets))).all())
    secret = token.rsplit("_", 1)[1][:43]
    assert secret not in dump
    assert token not in dump
    principal = await authn(store, clock).authenticate(Credential(token))
    assert principal is not None
    assert principal.kind is PrincipalKind.SERVICE
    assert (principal.subject, principal.token_id, principal.credential) == (
        "ci",
        "ci",
        "service_token",
    )
    assert principal.scopes == {"deploy", "read"}
    assert principal.workspaces == {"w1"}
    assert principal.expires_at == clock.time() + 3600


async def test_not_mine_returns_none(store: TokenStore, clock: ManualClock) -> None:
    assert (
        await authn(store, clock).authenticate(Credential("eyJhbGciOiJSUzI1NiJ9.e30.sig")) is None
    )


async def test_unknown_id_and_wrong_secret_get_the_same_answer(
    store: TokenStore, clock: ManualClock
) -> None:
    token, _ = await TokenAdmin(store, clock=clock).create(actor="a", token_id="real")
    unknown = await refused(authn(store, clock), generate_token("ghost"))
    # A well-formed token for "real" with someone else's secret: checksum valid, secret wrong.
    wrong = await refused(authn(store, clock), generate_token("real"))
    assert unknown.code is wrong.code is ErrorCode.INVALID_SERVICE_TOKEN
    assert unknown.detail == wrong.detail
    assert unknown.status == wrong.status == 401
    assert await authn(store, clock).authenticate(Credential(token)) is not None


async def test_bad_checksum_never_touches_the_store(store: TokenStore, clock: ManualClock) -> None:
    token, _ = await TokenAdmin(store, clock=clock).create(actor="a", token_id="svc")
    counting = CountingStore(store)
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")
    err = await refused(authn(counting, clock), typo)
    assert err.code is ErrorCode.INVALID_SERVICE_TOKEN
    assert counting.lookups == 0


async def test_revoked_and_expired_tokens_are_refused(
    store: TokenStore, clock: ManualClock
) -> None:
    admin = TokenAdmin(store, clock=clock)
    revoked, _ = await admin.create(actor="a", token_id="gone")
    expiring, _ = await admin.create(actor="a", token_id="short", expires_in=60)
    record = await admin.revoke("gone", actor="a", reason="leaked in a log")
    assert record.status(clock.time()) == "revoked"
    assert record.revoke_reason == "leaked in a log"
    again = await admin.revoke("gone", actor="b", reason="second")
    assert again.revoke_reason == "leaked in a log"  # first reason wins
    auth = authn(store, clock, cache_size=0)
    assert (await refused(auth, revoked)).code is ErrorCode.TOKEN_REVOKED
    assert await auth.authenticate(Credential(expiring)) is not None
    clock.advance(60)
    assert (await refused(auth, expiring)).code is ErrorCode.TOKEN_EXPIRED
    assert (await store.require("short")).status(clock.time()) == "expired"


async def test_rotation_keeps_old_secret_until_overlap_ends(
    store: TokenStore, clock: ManualClock
) -> None:
    admin = TokenAdmin(store, clock=clock)
    old, _ = await admin.create(actor="a", token_id="rot")
    new, record = await admin.rotate("rot", actor="a", overlap=300)
    assert new != old
    assert [(s.generation, s.status) for s in record.secrets] == [(1, "rotated"), (2, "active")]
    auth = authn(store, clock, cache_size=0)
    assert await auth.authenticate(Credential(old)) is not None
    assert await auth.authenticate(Credential(new)) is not None
    clock.advance(299)
    assert await auth.authenticate(Credential(old)) is not None
    clock.advance(1)
    err = await refused(auth, old)
    assert err.code is ErrorCode.TOKEN_EXPIRED
    assert "rotated" in err.detail
    assert await auth.authenticate(Credential(new)) is not None


async def test_rotation_with_zero_overlap_and_new_expiry(
    store: TokenStore, clock: ManualClock
) -> None:
    admin = TokenAdmin(store, clock=clock)
    old, _ = await admin.create(actor="a", token_id="cut", expires_in=10)
    new, record = await admin.rotate("cut", actor="a", overlap=0, expires_in=7200)
    assert record.expires_at == clock.time() + 7200
    auth = authn(store, clock, cache_size=0)
    assert (await refused(auth, old)).code is ErrorCode.TOKEN_EXPIRED
    clock.advance(3600)
    assert await auth.authenticate(Credential(new)) is not None


async def test_a_second_rotation_cuts_short_the_first_overlap(
    store: TokenStore, clock: ManualClock
) -> None:
    admin = TokenAdmin(store, clock=clock)
    first, _ = await admin.create(actor="a", token_id="twice")
    await admin.rotate("twice", actor="a", overlap=600)
    await admin.rotate("twice", actor="a", overlap=0)
    assert (await refused(authn(store, clock, cache_size=0), first)).code is ErrorCode.TOKEN_EXPIRED


async def test_invalid_operations_are_refused(store: TokenStore, clock: ManualClock) -> None:
    admin = TokenAdmin(store, clock=clock)
    await admin.create(actor="a", token_id="dup")
    with pytest.raises(TokenExistsError):
        await admin.create(actor="a", token_id="dup")
    with pytest.raises(TokenNotFoundError):
        await admin.show("nope", actor="a")
    with pytest.raises(TokenNotFoundError):
        await admin.rotate("nope", actor="a")
    with pytest.raises(ValueError, match="CIDR"):
        await admin.create(actor="a", token_id="cidr", allowed_cidrs=["10.0.0.0/33"])
    with pytest.raises(ValueError, match="expires-in"):
        await admin.create(actor="a", token_id="neg", expires_in=-1)
    with pytest.raises(ValueError, match="reason"):
        await admin.revoke("dup", actor="a", reason=" ")
    await admin.revoke("dup", actor="a", reason="done")
    with pytest.raises(TokenStateError):
        await admin.rotate("dup", actor="a")
    assert [r.id for r in await admin.list(actor="a")] == ["dup"]


async def test_source_cidrs_are_enforced(store: TokenStore, clock: ManualClock) -> None:
    token, _ = await TokenAdmin(store, clock=clock).create(
        actor="a", token_id="net", allowed_cidrs=["10.1.0.0/16", "2001:db8::/32"]
    )
    auth = authn(store, clock)
    assert await auth.authenticate(Credential(token, client_ip="10.1.2.3")) is not None
    assert await auth.authenticate(Credential(token, client_ip="2001:db8::7")) is not None
    assert await auth.authenticate(Credential(token, client_ip="::ffff:10.1.9.9")) is not None
    for ip in ("10.2.0.1", None, "not-an-ip"):  # also on a cache hit
        err = await refused(auth, token, ip)
        assert err.code is ErrorCode.SOURCE_IP_DENIED
        assert err.status == 403


async def test_cache_skips_the_store_until_recheck(store: TokenStore, clock: ManualClock) -> None:
    token, _ = await TokenAdmin(store, clock=clock).create(actor="a", token_id="hot")
    counting = CountingStore(store)
    auth = authn(counting, clock, recheck_interval=1.0)
    for _ in range(5):
        assert await auth.authenticate(Credential(token)) is not None
    assert counting.lookups == 1
    clock.advance(1.0)
    assert await auth.authenticate(Credential(token)) is not None
    assert counting.lookups == 2


async def test_revocation_reaches_a_cached_verdict_via_recheck(
    store: TokenStore, clock: ManualClock
) -> None:
    """Another instance revoked it (no pub/sub here): the 1 s recheck must catch it."""
    token, _ = await TokenAdmin(store, clock=clock).create(actor="a", token_id="stale")
    auth = authn(store, clock, recheck_interval=1.0)
    assert await auth.authenticate(Credential(token)) is not None
    await store.revoke("stale", reason="elsewhere", now=clock.time())
    clock.advance(0.999)
    assert await auth.authenticate(Credential(token)) is not None  # still within the bound
    clock.advance(0.001)
    assert (await refused(auth, token)).code is ErrorCode.TOKEN_REVOKED


async def test_local_revocation_evicts_the_cache_at_once(
    store: TokenStore, clock: ManualClock
) -> None:
    feed = RevocationFeed()
    admin = TokenAdmin(store, clock=clock, revocations=feed)
    token, _ = await admin.create(actor="a", token_id="evict")
    auth = authn(store, clock, revocations=feed)
    assert await auth.authenticate(Credential(token)) is not None
    await admin.revoke("evict", actor="a", reason="test")
    assert (await refused(auth, token)).code is ErrorCode.TOKEN_REVOKED


async def test_cache_never_outlives_expiry_and_stays_bounded(
    store: TokenStore, clock: ManualClock
) -> None:
    admin = TokenAdmin(store, clock=clock)
    token, _ = await admin.create(actor="a", token_id="brief", expires_in=0.5)
    auth = authn(store, clock, cache_size=2, recheck_interval=60)
    assert await auth.authenticate(Credential(token)) is not None
    clock.advance(0.5)
    assert (await refused(auth, token)).code is ErrorCode.TOKEN_EXPIRED
    for name in ("c1", "c2", "c3"):
        t, _ = await admin.create(actor="a", token_id=name)
        await auth.authenticate(Credential(t))
    assert len(auth._cache) == 2


async def test_last_used_is_batched_not_written_per_request(
    store: TokenStore, clock: ManualClock
) -> None:
    token, _ = await TokenAdmin(store, clock=clock).create(actor="a", token_id="used")
    usage = LastUsedBatcher(store)
    auth = authn(store, clock, usage=usage)
    for _ in range(3):
        clock.advance(5)
        await auth.authenticate(Credential(token))
    assert (await store.require("used")).last_used_at is None
    assert usage.pending == 1
    await usage.flush()
    assert (await store.require("used")).last_used_at == clock.time()
    await store.touch({"used": clock.time() - 100})  # never moves backwards
    assert (await store.require("used")).last_used_at == clock.time()


async def test_plain_postgresql_urls_are_converted(store_url: str) -> None:
    converted = TokenStore(store_url)
    try:
        assert converted.url.split("://")[0] in ("sqlite+aiosqlite", "postgresql+asyncpg")
        async with converted.engine.connect() as conn:
            assert (await conn.execute(text("select 1"))).scalar() == 1
    finally:
        await converted.aclose()


async def test_revocation_during_an_in_flight_lookup_is_not_lost(
    store: TokenStore, clock: ManualClock
) -> None:
    """Review finding: a lookup that read the record before a revoke used to cache it as active."""
    import asyncio

    token, _ = await TokenAdmin(store, clock=clock).create(actor="a", token_id="racy")
    gate = asyncio.Event()

    class SlowStore(CountingStore):
        async def auth_record(self, token_id: str) -> AuthRecord | None:
            record = await super().auth_record(token_id)
            await gate.wait()  # the revocation lands while this read is in flight
            return record

    feed = RevocationFeed()
    auth = authn(SlowStore(store), clock, revocations=feed, recheck_interval=30.0)
    lookup = asyncio.create_task(auth.authenticate(Credential(token)))
    await asyncio.sleep(0)  # let the lookup start and block
    await store.revoke("racy", reason="incident", now=clock.time())
    auth.forget("racy")
    gate.set()
    assert await lookup is not None  # it read the record before the revoke: one last pass
    assert (await refused(auth, token)).code is ErrorCode.TOKEN_REVOKED  # but nothing cached
