"""The dev IdP's state (okta-wire §3-§6): config, skewable clock, keys, issued tokens, replay sets.

One :class:`IdP` per served org. Endpoints and tests share it: tests drive it through this Python
API (rotate keys, skew the clock, revoke everything, arm faults) or through ``/__admin/``. All
mutation happens under one lock because tests call in from another thread than uvicorn's.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from authgate.clock import Clock, system_clock
from authgate.idp import ids
from authgate.idp.config import AppConfig, IdPConfig, ServerConfig
from authgate.idp.faults import Faults, SkewedClock
from authgate.idp.keys import KeyRing, _uint, b64url_decode, public_jwk
from authgate.idp.request_log import RequestLog

__all__ = ["AuthCode", "IdP", "IssuedToken", "RefreshRecord", "ServerState"]

NONCE_ROTATE = 24 * 3600  # okta-wire §6: a new DPoP nonce every day, old ones good for 3 days
NONCE_KEEP = 3 * 24 * 3600
# Issued access tokens are kept for introspection/revocation; expired ones are swept once the
# table reaches this size (then twice its surviving size), so a long-running server under load
# — a CI job, a benchmark — does not grow without bound, at an amortised O(1) per token.
TOKEN_SWEEP_MIN = 50_000


@dataclass
class IssuedToken:
    """An access token this IdP minted (for introspection and revocation)."""

    jti: str
    server_id: str
    client_id: str
    claims: dict[str, Any]
    revoked: bool = False
    refresh_id: str | None = None


@dataclass
class RefreshRecord:
    """An opaque refresh token (``oar…`` id) and the grant it continues."""

    id: str
    server_id: str
    client_id: str
    user_id: str | None
    scopes: list[str]
    issued_at: float
    expires_at: float | None
    idle: float
    last_used: float
    auth_time: int
    jkt: str | None = None
    revoked: bool = False
    replaced_at: float | None = None  # ROTATE: when a successor was issued
    family: list[str] = field(default_factory=list)  # values of every token of this grant


@dataclass
class AuthCode:
    """An authorization code waiting for ``/token`` (okta-wire §3.4: 300 s)."""

    code: str
    server_id: str
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: list[str]
    code_challenge: str | None
    nonce: str | None
    expires_at: float
    auth_time: int
    state: str | None = None
    used: bool = False


class ServerState:
    """One authorization server as served: its config, keys and URLs."""

    def __init__(self, idp: IdP, config: ServerConfig) -> None:
        self.idp = idp
        self.config = config
        self.id = config.id
        period = config.key_rotation_days * 86400.0
        self.keys = KeyRing(idp.clock, period)
        # okta-wire §1.1: the org AS does not publish the keys of its access tokens (they are
        # opaque to everyone but Okta), so those come from a second, unpublished ring.
        self.token_keys = KeyRing(idp.clock, period) if config.is_org else self.keys

    @property
    def is_org(self) -> bool:
        return self.config.is_org

    @property
    def base(self) -> str:
        """Endpoint prefix: ``{org}/oauth2`` or ``{org}/oauth2/{id}`` (okta-wire §1.1).

        ``{org}`` is the configured ``org_url`` when set (the IdP behind a proxy or in a service
        container, reached under another name than the address it listens on), else the URL it
        is served on — so issuers, discovery, assertion ``aud`` and DPoP ``htu`` checks all use
        the URL clients actually call.
        """
        root = self.idp.org_url + "/oauth2"
        return root if self.is_org else f"{root}/{self.id}"

    @property
    def issuer(self) -> str:
        return self.idp.org_url if self.is_org else self.base

    def endpoint(self, name: str) -> str:
        return f"{self.base}/v1/{name}"

    def audience(self) -> str:
        """Access-token ``aud``: the org URL on the org AS, else the first configured audience."""
        if self.is_org or not self.config.audiences:
            return self.idp.org_url
        return self.config.audiences[0]


class IdP:
    """A running dev org. ``IdP(IdPConfig.default())`` is the demo; ``base_url`` is set by serve."""

    def __init__(self, config: IdPConfig, *, clock: Clock = system_clock) -> None:
        self.config = config
        self.clock = SkewedClock(clock)
        self.base_url = "http://127.0.0.1"
        self.faults = Faults()
        self.request_log = RequestLog()
        self.lock = threading.RLock()
        self._servers = {s.id: ServerState(self, s) for s in config.servers}
        self._client_keys: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self._sweep_at = TOKEN_SWEEP_MIN
        self.refresh_tokens: dict[str, RefreshRecord] = {}
        self.codes: dict[str, AuthCode] = {}
        self._used: dict[tuple[str, str], float] = {}
        self._nonces: list[tuple[str, float]] = []
        # Extra state living next to the IdP (e.g. rate-limit counters) registers its reset here.
        self.reset_hooks: list[Callable[[], None]] = []

    # -- servers and apps --------------------------------------------------------------------
    @property
    def org_url(self) -> str:
        return (self.config.org_url or self.base_url).rstrip("/")

    def server(self, server_id: str) -> ServerState:
        """The server ``server_id`` (``"org"`` for the org AS); KeyError when unknown."""
        return self._servers[server_id]

    def find_server(self, server_id: str) -> ServerState | None:
        return self._servers.get(server_id)

    def servers(self) -> list[ServerState]:
        return list(self._servers.values())

    def app(self, name_or_client_id: str) -> AppConfig | None:
        app = self.config.app(name_or_client_id)
        return app if app is not None and app.status == "ACTIVE" else None

    def _client_key(self, app: AppConfig) -> tuple[str, rsa.RSAPrivateKey]:
        with self.lock:
            if app.client_id not in self._client_keys:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self._client_keys[app.client_id] = (ids.key_id(), key)
            return self._client_keys[app.client_id]

    def client_jwks(self, app: AppConfig) -> dict[str, Any] | None:
        """The app's public JWKS: configured, or the generated test key's public half."""
        if app.jwks is not None:
            return app.jwks
        if app.generate_key:
            kid, key = self._client_key(app)
            return {"keys": [public_jwk(key.public_key(), kid)]}
        return None

    def client_private_jwk(self, name_or_client_id: str) -> dict[str, Any]:
        """TEST-ONLY private JWK of an app with ``generate_key`` (for signing client assertions)."""
        app = self.config.app(name_or_client_id)
        if app is None or not app.generate_key:
            raise KeyError(f"{name_or_client_id} has no generated key")
        kid, key = self._client_key(app)
        numbers = key.private_numbers()
        jwk = public_jwk(key.public_key(), kid)
        jwk.update(
            d=_uint(numbers.d),
            p=_uint(numbers.p),
            q=_uint(numbers.q),
            dp=_uint(numbers.dmp1),
            dq=_uint(numbers.dmq1),
            qi=_uint(numbers.iqmp),
        )
        return jwk

    # -- replay protection -------------------------------------------------------------------
    def burn(self, namespace: str, value: str, until: float) -> bool:
        """Record a single-use value; False when it was already used (and not yet forgotten)."""
        now = self.clock.time()
        with self.lock:
            if len(self._used) > 10_000:
                self._used = {k: v for k, v in self._used.items() if v > now}
            key = (namespace, value)
            if key in self._used and self._used[key] > now:
                return False
            self._used[key] = max(until, now + 60)
            return True

    def dpop_nonce(self) -> str:
        """The current DPoP nonce (rotated daily)."""
        now = self.clock.time()
        with self.lock:
            if not self._nonces or now - self._nonces[-1][1] >= NONCE_ROTATE:
                self._nonces.append((secrets.token_urlsafe(24), now))
                self._nonces = [(n, t) for n, t in self._nonces if now - t < NONCE_KEEP]
            return self._nonces[-1][0]

    def dpop_nonce_valid(self, nonce: str) -> bool:
        now = self.clock.time()
        with self.lock:
            return any(
                secrets.compare_digest(nonce, n) and now - t < NONCE_KEEP for n, t in self._nonces
            )

    # -- tokens --------------------------------------------------------------------------------
    def remember_token(self, token: IssuedToken) -> None:
        """Record a minted access token; sweeps expired ones when the table has grown."""
        with self.lock:
            self.tokens[token.jti] = token
            if len(self.tokens) >= self._sweep_at:
                now = self.clock.time()
                self.tokens = {
                    jti: t for jti, t in self.tokens.items() if t.claims.get("exp", 0) > now
                }
                self._sweep_at = max(TOKEN_SWEEP_MIN, 2 * len(self.tokens))

    def validate_access_token(self, token: str, server_id: str) -> dict[str, Any] | None:
        """The claims of ``token`` if it is an active access token of ``server_id``, else None."""
        claims = self.signed_claims(token, server_id)
        if claims is None:
            return None
        with self.lock:
            record = self.tokens.get(str(claims.get("jti")))
        if record is None or record.revoked or record.server_id != server_id:
            return None
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= self.clock.time():
            return None
        return claims

    def signed_claims(self, token: str, server_id: str) -> dict[str, Any] | None:
        """Claims of a JWT signed by one of ``server_id``'s keys (expiry and revocation unchecked)."""
        server = self.find_server(server_id)
        if server is None or not isinstance(token, str) or token.count(".") != 2:
            return None
        head, body, sig = token.split(".")
        try:
            header = orjson.loads(b64url_decode(head))
            claims = orjson.loads(b64url_decode(body))
            signature = b64url_decode(sig)
        except ValueError:
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None
        key = server.token_keys.find(str(header.get("kid")))
        if key is None or header.get("alg") != "RS256":
            return None
        if not key.verify(f"{head}.{body}".encode("ascii"), signature):
            return None
        if claims.get("iss") != server.issuer:
            return None
        return claims

    def rotate_keys(self, server_id: str) -> str:
        """Rotate ``server_id``'s keys now; returns the new ACTIVE kid."""
        server = self.server(server_id)
        if server.token_keys is not server.keys:
            server.token_keys.rotate()
        return server.keys.rotate().kid

    def revoke_all(self) -> int:
        """Revoke every access and refresh token; returns how many were live."""
        with self.lock:
            count = 0
            for token in self.tokens.values():
                count += not token.revoked
                token.revoked = True
            for record in self.refresh_tokens.values():
                count += not record.revoked
                record.revoked = True
            return count

    def reset(self) -> None:
        """Forget tokens, codes, replay sets, faults, skew and the log (keys are kept)."""
        with self.lock:
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.codes.clear()
            self._used.clear()
            self._nonces.clear()
        self.faults.clear()
        self.request_log.clear()
        self.clock.skew = 0.0
        for hook in self.reset_hooks:
            hook()
