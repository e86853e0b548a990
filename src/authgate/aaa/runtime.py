"""Assembly of ``authgate aaa``: backends, cache, service and both servers from an :class:`AAAConfig`.

Kept apart from the servers so the gateway can run AAA in its own process (one event loop)
and tests can swap the clock, the metrics registry, the audit log and the sleeper (retries, push polls).
``aclose()`` closes the sockets first, then lets the service flush audit and close backends.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from authgate.aaa.auth_cache import AuthCache, MemoryAuthCache, RedisAuthCache
from authgate.aaa.backends.base import PasswordBackend
from authgate.aaa.backends.local import LocalBackend, LocalUser
from authgate.aaa.backends.okta import OktaBackend
from authgate.aaa.config import AAAConfig
from authgate.aaa.metrics import AAAMetrics
from authgate.aaa.radius.listener import DatagramListener
from authgate.aaa.radius.server import RadiusServer
from authgate.aaa.service import AAAService
from authgate.aaa.tacacs.server import TacacsServer
from authgate.aaa.workers import SocketRelay, WorkerSockets, decode_relayed
from authgate.clock import Clock, system_clock
from authgate.observability.audit import AuditLog
from authgate.okta.metrics import metrics_for
from authgate.okta.transport import Sleeper

__all__ = ["AAARuntime", "build_service"]


def _cache(config: AAAConfig, clock: Clock) -> AuthCache | None:
    settings = config.cache
    if not settings.enabled:
        return None
    key = settings.key_bytes()
    if settings.redis_url:
        from redis.asyncio import Redis  # only deployments sharing a cache need the client

        return RedisAuthCache(
            Redis.from_url(settings.redis_url),
            key,
            ttl=settings.ttl,
            stale_ttl=settings.stale_ttl,
            clock=clock,
        )
    return MemoryAuthCache(
        key,
        ttl=settings.ttl,
        stale_ttl=settings.stale_ttl,
        max_entries=settings.max_entries,
        clock=clock,
    )


def build_service(
    config: AAAConfig,
    *,
    registry: CollectorRegistry,
    audit: AuditLog | None = None,
    clock: Clock = system_clock,
    sleeper: Sleeper | None = None,
) -> AAAService:
    """The decision service with backends in ``config.backends`` order."""
    backends: list[PasswordBackend] = []
    for name in config.backends:
        if name == "local":
            users = {
                user: LocalUser(u.password_hash, frozenset(u.groups))
                for user, u in config.local_users.items()
            }
            backends.append(LocalBackend(users))
        elif config.okta is not None:
            okta_metrics = metrics_for(registry)
            backends.append(
                OktaBackend(
                    config.okta, config.mfa, clock=clock, metrics=okta_metrics, sleeper=sleeper
                )
            )
    return AAAService(
        config,
        backends,
        cache=_cache(config, clock),
        audit=audit,
        metrics=AAAMetrics(registry),
        clock=clock,
    )


class AAARuntime:
    """Both servers around one service; ``radius`` / ``tacacs`` are None when disabled."""

    def __init__(self, config: AAAConfig, service: AAAService, *, clock: Clock = system_clock):
        self.config, self.service = config, service
        self.radius = (
            RadiusServer(service, config.radius, config.replies, service.metrics, clock=clock)
            if config.radius.enabled
            else None
        )
        self.tacacs = (
            TacacsServer(service, config.tacacs, service.metrics) if config.tacacs.enabled else None
        )
        self._relay_in: DatagramListener | None = None

    async def start(self, sockets: WorkerSockets | None = None) -> None:
        """Bind the configured ports, or serve one worker's share of them (``run_workers``)."""
        if sockets is None:
            if self.radius is not None:
                await self.radius.start()
            if self.tacacs is not None:
                await self.tacacs.start()
            return
        self.service.state_prefix = bytes([sockets.index])
        if self.radius is not None:
            radius = self.radius
            await radius.start(sockets.radius)
            radius.relay = SocketRelay(sockets)
            if sockets.relay_in is not None:
                auth = radius.listeners["auth"]
                self._relay_in = DatagramListener(sockets.relay_in)
                self._relay_in.start(
                    lambda message, _: radius.received(
                        "auth", auth, *decode_relayed(message), relayed=True
                    )
                )
        if self.tacacs is not None:
            await self.tacacs.start(sockets.tacacs)

    async def aclose(self) -> None:
        if self._relay_in is not None:
            self._relay_in.close()
        if self.radius is not None:
            await self.radius.aclose()
        if self.tacacs is not None:
            await self.tacacs.aclose()
        await self.service.aclose()
