"""Doctor checks of local state: the service-token store, Redis, the bootstrap token (DESIGN.md).

The store must be reachable and at the newest Alembic revision — ``serve`` never migrates as a
side effect, so a forgotten ``authgate tokens migrate`` shows up here instead of as 503s. Doctor
never creates a database: a SQLite file that does not exist is reported, not made. Every Redis
URL any component is configured with gets one ``PING``. A bootstrap token still configured is a
warning: it is meant to create the first real admin token and then be removed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from authgate.doctor.context import DoctorContext
from authgate.doctor.report import CheckResult, Status
from authgate.errors import ErrorCode

__all__ = ["check_bootstrap", "check_redis", "check_store"]


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from authgate.service_tokens import migrations

    return ScriptDirectory(str(Path(migrations.__file__).parent)).get_current_head()


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.endswith(":memory:"):
        return Path(url.removeprefix(prefix))
    return None


async def check_store(ctx: DoctorContext) -> CheckResult:
    check = "service-token store"
    if ctx.tokens is None:
        return CheckResult(check, Status.SKIP, "token settings did not load")
    url = ctx.tokens.database_url()
    file = _sqlite_file(url)
    if file is not None and not file.is_file():
        if ctx.tokens.token_store_url is None:
            return CheckResult(
                check, Status.SKIP, f"no store yet ({file} does not exist; not used)"
            )
        return CheckResult(
            check,
            Status.FAIL,
            f"the SQLite file {file} does not exist",
            fix="run `authgate tokens migrate` to create it, or fix AUTHGATE_TOKEN_STORE_URL",
            code=str(ErrorCode.CONFIG_INVALID),
        )
    ctx.progress("service-token store")
    from sqlalchemy.ext.asyncio import create_async_engine

    from authgate.service_tokens.migrations import current_revision

    engine = create_async_engine(url)
    try:
        current = await asyncio.wait_for(current_revision(engine), ctx.timeout)
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable"
        return CheckResult(
            check,
            Status.FAIL,
            f"cannot reach the store: {type(exc).__name__}: {str(exc)[:200]}",
            fix="check AUTHGATE_TOKEN_STORE_URL (host, port, credentials, database)",
            code=str(ErrorCode.CONFIG_INVALID),
        )
    finally:
        await engine.dispose()
    head = _head_revision()
    where = url.split("@")[-1]  # never print credentials in the URL
    if current == head:
        return CheckResult(check, Status.PASS, f"{where} reachable, schema at revision {head}")
    said = "not migrated" if current is None else f"at revision {current}, newest is {head}"
    return CheckResult(
        check,
        Status.FAIL,
        f"{where} reachable but {said}",
        fix="run `authgate tokens migrate` (serve never migrates on its own)",
        code=str(ErrorCode.CONFIG_INVALID),
    )


def _redis_urls(ctx: DoctorContext) -> dict[str, str]:
    found: dict[str, str] = {}
    for owner, url in (
        ("AUTHGATE_REDIS_URL", ctx.tokens.redis_url if ctx.tokens else None),
        ("AUTHGATE_OKTA_REDIS_URL", ctx.okta.redis_url if ctx.okta else None),
        ("AUTHGATE_GATEWAY_REDIS_URL", ctx.gateway.redis_url if ctx.gateway else None),
    ):
        if url:
            found.setdefault(url, owner)
    return found


async def check_redis(ctx: DoctorContext) -> list[CheckResult]:
    urls = _redis_urls(ctx)
    if not urls:
        return [CheckResult("redis", Status.SKIP, "no Redis configured")]
    from redis.asyncio import Redis

    results: list[CheckResult] = []
    for url, owner in urls.items():
        ctx.progress(f"redis {owner}")
        client = Redis.from_url(url, socket_timeout=ctx.timeout, socket_connect_timeout=ctx.timeout)
        try:
            await asyncio.wait_for(client.ping(), ctx.timeout)
        except Exception as exc:  # noqa: BLE001 - connection, auth, timeout: all "unreachable"
            results.append(
                CheckResult(
                    f"redis [{owner}]",
                    Status.FAIL,
                    f"PING failed: {type(exc).__name__}: {str(exc)[:200]}",
                    fix=f"start Redis or correct {owner} (redis://host:6379/0)",
                    code=str(ErrorCode.CONFIG_INVALID),
                )
            )
        else:
            results.append(CheckResult(f"redis [{owner}]", Status.PASS, "PING answered"))
        finally:
            await client.aclose()
    return results


def check_bootstrap(ctx: DoctorContext) -> CheckResult:
    check = "bootstrap token"
    if ctx.tokens is None or ctx.tokens.bootstrap_token is None:
        return CheckResult(check, Status.PASS, "not configured")
    expires = ctx.tokens.bootstrap_token_expires_at
    expired = expires is not None and expires <= ctx.clock.time()
    state = "expired but still configured" if expired else "still configured"
    return CheckResult(
        check,
        Status.WARN,
        f"AUTHGATE_BOOTSTRAP_TOKEN is {state}",
        fix="create a real admin token (`authgate tokens create --scope admin:tokens:write`), "
        "then unset AUTHGATE_BOOTSTRAP_TOKEN",
    )
