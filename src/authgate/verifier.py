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
from time import time
from typing import Any

from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose.claims import ClaimsPolicy, validate_claims
from authgate.jose.compact import ParsedHeader, check_signature, decode_claims, parse_parts
from authgate.jose.key_source import KeySource
from authgate.jose.keys import KeySet
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import ClaimMapping, Principal, principal_from_claims

__all__ = ["IssuerConfig", "PrincipalHook", "TokenVerifier"]

PrincipalHook = Callable[[Principal], None]
"""Runs after every successful verification (cache hits too); raises AuthError to refuse."""

_Parsed = tuple[ParsedHeader, dict[str, Any], bytes, bytes]
"""A parsed, not yet verified token: shared header, claims, signing input, signature."""
_Pending = tuple[_Parsed, "IssuerConfig", KeySet | None, bytes | None]
"""What :meth:`TokenVerifier._start` hands to the key fetch and ``_finish``."""


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
        started = self._start(token)
        if isinstance(started, Principal):
            return started
        parsed, cfg, keys, cache_key = started
        return self._finish(parsed, cfg, keys or cfg.keys.get(parsed[0].kid), cache_key)

    async def averify(self, token: str) -> Principal:
        """Async twin of :meth:`verify`: only the key fetch differs."""
        started = self._start(token)
        if isinstance(started, Principal):
            return started
        parsed, cfg, keys, cache_key = started
        return self._finish(parsed, cfg, keys or await cfg.keys.aget(parsed[0].kid), cache_key)

    async def aclose(self) -> None:
        for cfg in self._issuers.values():
            await cfg.keys.aclose()

    # -- steps ----------------------------------------------------------------------------------
    # Two calls per cold token (start, finish), split only where the key fetch may block or
    # await: each Python call on this path costs about 0.1 µs, 1 % of an HS256 verification.
    def _start(self, token: str) -> Principal | _Pending:
        """A cached verdict, or the parsed token, its issuer and the loaded keys if they hold
        its ``kid`` (None: the caller asks the key source, which may refetch)."""
        if not token:
            raise AuthError(ErrorCode.MISSING_TOKEN, "no bearer token was presented")
        if not token.isascii():  # before hashing: a lone surrogate cannot even be encoded
            raise AuthError(ErrorCode.MALFORMED_TOKEN, "token contains non-ASCII characters")
        cache_key = None
        if self.cache is not None:
            cache_key = self.cache.key(token)
            cached = self._cache_hit(self.cache, cache_key)
            if cached is not None:
                return cached
        header, payload, signing_input, signature = parse_parts(token, max_size=self.max_token_size)
        claims = decode_claims(payload)
        iss = claims.get("iss")
        cfg = self._issuers.get(iss) if type(iss) is str else None
        if cfg is None:
            accepted = ", ".join(repr(i) for i in self._issuers)
            got = f"{iss[:200]!r}" if isinstance(iss, str) else "no string 'iss' claim"
            raise AuthError(
                ErrorCode.INVALID_ISSUER,
                f"token issuer {got} is not accepted; accepted issuers: {accepted}",
                claim="iss",
            )
        keys = cfg.keys.current()
        kid = header.kid
        if keys is not None and kid is not None:
            binding = header.binding  # the kid was found in binding[0] before: no lookup
            if (binding is None or binding[0] is not keys) and keys.get(kid) is None:
                keys = None
        return (header, claims, signing_input, signature), cfg, keys, cache_key

    def _cache_hit(self, cache: VerdictCache, key: bytes) -> Principal | None:
        hit = cache.get_entry(key)
        if hit is None:
            return None
        principal, kid = hit
        if kid is not None:
            cfg = self._issuers.get(principal.issuer or "")
            keys = cfg.keys.current() if cfg is not None else None
            # No fresh key set in hand (refresh due): nothing says the key was withdrawn.
            if keys is not None and keys.get(kid) is None:
                cache.discard(key)  # the issuer withdrew the key: judge the token afresh
                return None
        if self.hooks:
            self._run_hooks(principal)
        return principal

    def _finish(
        self, parsed: _Parsed, cfg: IssuerConfig, keys: KeySet, cache_key: bytes | None
    ) -> Principal:
        header, claims, signing_input, signature = parsed
        key = check_signature(
            header,
            signing_input,
            signature,
            keys,
            cfg.algorithms,
            allow_kidless_single_key=cfg.allow_kidless_single_key,
        )
        clock = self.clock  # system_clock.time() is a Python frame around time.time()
        validate_claims(claims, cfg.policy, time() if clock is system_clock else clock.time())
        # from_json: the claims dict was parsed (orjson) for this call and goes nowhere else.
        principal = principal_from_claims(claims, cfg.claims, from_json=True)
        if cfg.required_scopes:
            principal.require_scopes(*cfg.required_scopes)
        if self.hooks:
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
