"""Bearer-token verification facade: a compact JWS in, a trusted ``Principal`` (or AuthError) out.

Per token: verdict cache (sha256 of the token) → strict compact parse (RFC 7515 §7.1) → issuer
chosen by exact ``iss`` (each issuer has its own keys, audiences and options: the Okta
multi-authorization-server case) → key by ``kid`` from already-loaded keys (the network is touched
only for an unknown kid, cooldown-limited) → signature → claims (RFC 7519 §4.1, RFC 9068) →
Principal. Successes are cached until ``exp``; ``hooks`` (revocation, DPoP binding) run on every
call, hits included. ``verify`` and ``averify`` share every step but the key fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose.claims import ClaimsPolicy, validate_claims
from authgate.jose.compact import CompactJWS, decode_compact, verify_signature
from authgate.jose.key_source import KeySource
from authgate.jose.keys import KeySet
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import ClaimMapping, Principal, principal_from_claims

__all__ = ["IssuerConfig", "PrincipalHook", "TokenVerifier"]

PrincipalHook = Callable[[Principal], None]
"""Runs after every successful verification (cache hits too); raises AuthError to refuse."""


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """One accepted issuer: where its keys come from and how its tokens are judged."""

    issuer: str
    keys: KeySource
    audiences: tuple[str, ...] = ()
    algorithms: frozenset[str] = frozenset({"RS256"})
    leeway: float = 60.0
    max_age: float | None = None
    require_exp: bool = True
    accept_id_tokens: bool = False
    allow_kidless_single_key: bool = True
    claims: ClaimMapping = field(default_factory=ClaimMapping)
    required_scopes: tuple[str, ...] = ()
    skip_audience_check: bool = False
    policy: ClaimsPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.algorithms:
            raise ConfigError(f"issuers[{self.issuer}].algorithms", "allow at least one algorithm")
        # One Okta authorization server mints tokens for many APIs: without an audience check a
        # token meant for another API is accepted here. Opting out must be explicit.
        if not self.audiences and not self.skip_audience_check:
            raise ConfigError(
                f"issuers[{self.issuer}].audiences",
                "list the audiences this API accepts (e.g. api://default), or set "
                "skip_audience_check = true to accept tokens for any audience of this issuer",
            )
        policy = ClaimsPolicy(
            issuer=self.issuer,
            audiences=self.audiences,
            leeway=self.leeway,
            max_age=self.max_age,
            require_exp=self.require_exp,
            accept_id_tokens=self.accept_id_tokens,
        )
        object.__setattr__(self, "policy", policy)


class TokenVerifier:
    """Verify bearer JWTs from one or several issuers. Safe to share across threads and tasks."""

    def __init__(
        self,
        issuers: Iterable[IssuerConfig],
        *,
        max_token_size: int = 16 * 1024,
        verdict_cache: VerdictCache | None = None,
        hooks: Sequence[PrincipalHook] = (),
        clock: Clock = system_clock,
    ) -> None:
        self._issuers: dict[str, IssuerConfig] = {}
        for cfg in issuers:
            if cfg.issuer in self._issuers:
                raise ConfigError(
                    "issuers", f"issuer {cfg.issuer!r} is configured twice; merge the two entries"
                )
            self._issuers[cfg.issuer] = cfg
        if not self._issuers:
            raise ConfigError("issuers", "configure at least one issuer to accept tokens from")
        self.max_token_size = max_token_size
        self.cache = verdict_cache
        self.hooks = tuple(hooks)
        self.clock = clock

    @property
    def issuers(self) -> tuple[IssuerConfig, ...]:
        return tuple(self._issuers.values())

    # -- public entry points ------------------------------------------------------------------
    def verify(self, token: str) -> Principal:
        """Verify ``token``; may block on a key fetch for an unknown ``kid`` (cooldown-limited)."""
        cached, key = self._cached(token)
        if cached is not None:
            return cached
        jws, cfg = self._parse(token)
        keys = self._loaded_keys(cfg, jws) or cfg.keys.get(_kid(jws))
        return self._finish(jws, cfg, keys, key)

    async def averify(self, token: str) -> Principal:
        """Async twin of :meth:`verify`: only the key fetch differs."""
        cached, key = self._cached(token)
        if cached is not None:
            return cached
        jws, cfg = self._parse(token)
        keys = self._loaded_keys(cfg, jws) or await cfg.keys.aget(_kid(jws))
        return self._finish(jws, cfg, keys, key)

    async def aclose(self) -> None:
        for cfg in self._issuers.values():
            await cfg.keys.aclose()

    # -- steps ----------------------------------------------------------------------------------
    def _cached(self, token: str) -> tuple[Principal | None, bytes | None]:
        if not token:
            raise AuthError(ErrorCode.MISSING_TOKEN, "no bearer token was presented")
        if not token.isascii():  # before hashing: a lone surrogate cannot even be encoded
            raise AuthError(ErrorCode.MALFORMED_TOKEN, "token contains non-ASCII characters")
        if self.cache is None:
            return None, None
        key = self.cache.key(token)
        hit = self.cache.get_entry(key)
        if hit is None:
            return None, key
        principal, kid = hit
        if not self._key_still_published(principal, kid):
            self.cache.discard(key)  # the issuer withdrew the key: judge the token afresh
            return None, key
        self._run_hooks(principal)
        return principal, key

    def _key_still_published(self, principal: Principal, kid: str | None) -> bool:
        cfg = self._issuers.get(principal.issuer or "")
        keys = cfg.keys.current() if cfg is not None else None
        # No fresh key set in hand (refresh due): nothing says the key was withdrawn.
        return keys is None or kid is None or keys.get(kid) is not None

    def _parse(self, token: str) -> tuple[CompactJWS, IssuerConfig]:
        jws = decode_compact(token, max_size=self.max_token_size)
        iss = jws.payload.get("iss")
        cfg = self._issuers.get(iss) if isinstance(iss, str) else None
        if cfg is None:
            accepted = ", ".join(repr(i) for i in self._issuers)
            got = f"{iss[:200]!r}" if isinstance(iss, str) else "no string 'iss' claim"
            raise AuthError(
                ErrorCode.INVALID_ISSUER,
                f"token issuer {got} is not accepted; accepted issuers: {accepted}",
                claim="iss",
            )
        return jws, cfg

    @staticmethod
    def _loaded_keys(cfg: IssuerConfig, jws: CompactJWS) -> KeySet | None:
        keys = cfg.keys.current()
        if keys is None:
            return None
        kid = _kid(jws)
        return keys if kid is None or keys.get(kid) is not None else None

    def _finish(
        self, jws: CompactJWS, cfg: IssuerConfig, keys: KeySet, cache_key: bytes | None
    ) -> Principal:
        key = verify_signature(
            jws, keys, cfg.algorithms, allow_kidless_single_key=cfg.allow_kidless_single_key
        )
        validate_claims(jws.payload, cfg.policy, self.clock.time())
        principal = principal_from_claims(jws.payload, cfg.claims)
        if cfg.required_scopes:
            principal.require_scopes(*cfg.required_scopes)
        self._run_hooks(principal)
        if self.cache is not None and cache_key is not None:
            self.cache.put(cache_key, principal, expires_at=_not_after(principal, cfg), kid=key.kid)
        return principal

    def _run_hooks(self, principal: Principal) -> None:
        for hook in self.hooks:
            hook(principal)


def _not_after(principal: Principal, cfg: IssuerConfig) -> float | None:
    """When a cached verdict must be re-judged: at ``exp``, or earlier when ``max_age`` ends."""
    deadline = principal.expires_at
    if cfg.max_age is not None and principal.issued_at is not None:
        too_old = principal.issued_at + cfg.max_age + cfg.leeway
        deadline = too_old if deadline is None else min(deadline, too_old)
    return deadline


def _kid(jws: CompactJWS) -> str | None:
    kid = jws.header.get("kid")
    return kid if isinstance(kid, str) else None
