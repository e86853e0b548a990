"""Okta token endpoint client (RFC 6749 §3.2, §4.4, §4.3, §6; RFC 8693 §2; RFC 9449 §5, §8).

One object per (issuer, client): it discovers the token endpoint once, authenticates the client
in the configured form, adds DPoP proofs and answers Okta's ``use_dpop_nonce`` challenge by
rebuilding the whole request — new proof *and* new client assertion, because Okta burnt the first
assertion's ``jti`` (okta-wire §6) — maps errors to :class:`~authgate.okta.errors.OktaError`
with hints, counts metrics, and caches tokens in a :class:`~authgate.okta.token_cache.TokenCache`.
Logs name the grant, the client id and token fingerprints; never a secret, assertion or token.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import Iterable
from typing import Literal

import httpx
import orjson

from authgate.clock import Clock, system_clock
from authgate.errors import ConfigError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.jose.discovery import adiscover, discover
from authgate.jose.jwks import JWKSOptions
from authgate.okta.client_assertion import ASSERTION_TYPE, ClientAssertion, SigningKey
from authgate.okta.dpop import DPoPSigner, is_nonce_challenge
from authgate.okta.errors import ErrorContext, OktaError, error_from_response
from authgate.okta.metrics import OktaMetrics
from authgate.okta.token_cache import CacheKey, TokenCache, TokenResponse
from authgate.okta.transport import ResilientTransport, borrowed, make_async_client, make_client

__all__ = ["ACCESS_TOKEN_TYPE", "EXCHANGE_GRANT", "AuthMethod", "OktaTokenClient"]

log = logging.getLogger("authgate.okta")
AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"
]
EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
NONCE_RETRIES = 2  # as Okta's own SDK


class OktaTokenClient:
    """Token requests for one client at one authorization server (sync and async)."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        auth_method: AuthMethod = "client_secret_basic",
        client_secret: str | None = None,
        signing_key: SigningKey | None = None,
        token_endpoint: str | None = None,
        discovery_url: str | None = None,
        dpop: DPoPSigner | None = None,
        transport: ResilientTransport | None = None,
        cache: TokenCache | None = None,
        clock: Clock = system_clock,
        metrics: OktaMetrics | None = None,
        assertion_lifetime: int = 300,
    ) -> None:
        needs_secret = auth_method in (
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
        )
        if needs_secret and not client_secret:
            raise ConfigError(
                "client_secret", f"{auth_method} needs a client secret (from the environment)"
            )
        if auth_method == "private_key_jwt" and signing_key is None:
            raise ConfigError(
                "private key", "private_key_jwt needs a private key (file, env or JWK)"
            )
        self.issuer, self.client_id, self.auth_method = issuer, client_id, auth_method
        self._secret = client_secret
        self._assertion: ClientAssertion | None = None
        if auth_method == "private_key_jwt" and signing_key is not None:
            self._assertion = ClientAssertion(
                client_id, signing_key, lifetime=assertion_lifetime, clock=clock
            )
        elif auth_method == "client_secret_jwt" and client_secret is not None:
            from authgate.okta.client_assertion import secret_signing_key

            key = secret_signing_key(client_secret)
            self._assertion = ClientAssertion(
                client_id, key, lifetime=assertion_lifetime, clock=clock
            )
        self.dpop = dpop
        self.clock = clock
        self.transport = transport or ResilientTransport(clock=clock, metrics=metrics)
        self.metrics = metrics or self.transport.metrics
        self.cache = cache or TokenCache(clock=clock)
        self._discovery_url = discovery_url
        self._endpoint = token_endpoint
        self._endpoint_lock = threading.Lock()
        self._aendpoint_lock: asyncio.Lock | None = None
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"OktaTokenClient(issuer={self.issuer!r}, client_id={self.client_id!r}, auth_method={self.auth_method!r})"

    # -- endpoint discovery (cached) ------------------------------------------------------------
    def _options(self) -> JWKSOptions:
        return JWKSOptions(timeout=self.transport.config.read_timeout)

    def _from_metadata(self, endpoint: str | None) -> str:
        if not endpoint:
            raise ConfigError("issuer", f"{self.issuer} publishes no token_endpoint; configure it")
        self._endpoint = endpoint
        return endpoint

    def token_endpoint(self) -> str:
        if self._endpoint is None:
            with self._endpoint_lock:
                if self._endpoint is None:
                    meta = discover(
                        self.issuer,
                        discovery_url=self._discovery_url,
                        options=self._options(),
                        transport=borrowed(self.transport),
                    )
                    return self._from_metadata(meta.token_endpoint)
        return self._endpoint

    async def atoken_endpoint(self) -> str:
        if self._endpoint is None:
            self._aendpoint_lock = self._aendpoint_lock or asyncio.Lock()
            async with self._aendpoint_lock:
                if self._endpoint is None:
                    meta = await adiscover(
                        self.issuer,
                        discovery_url=self._discovery_url,
                        options=self._options(),
                        transport=borrowed(self.transport),
                    )
                    return self._from_metadata(meta.token_endpoint)
        return self._endpoint

    # -- request building ---------------------------------------------------------------------
    def _build(self, endpoint: str, form: dict[str, str]) -> httpx.Request:
        """A complete token request: client authentication and DPoP proof made fresh each time."""
        body = dict(form)
        headers = {"Accept": "application/json"}
        if self.auth_method == "client_secret_basic":
            pair = f"{self.client_id}:{self._secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif self.auth_method == "client_secret_post":
            body.update(client_id=self.client_id, client_secret=self._secret or "")
        elif self._assertion is not None:
            body.update(
                client_assertion_type=ASSERTION_TYPE,
                client_assertion=self._assertion.make(endpoint),
            )
        else:
            body["client_id"] = self.client_id
        if self.dpop is not None:
            headers["DPoP"] = self.dpop.proof("POST", endpoint)
        return httpx.Request("POST", endpoint, data=body, headers=headers)

    def _context(self, grant: str, form: dict[str, str]) -> ErrorContext:
        scopes = tuple(form.get("scope", "").split())
        return ErrorContext(
            grant=grant, scopes=scopes, auth_method=self.auth_method, dpop=self.dpop is not None
        )

    def _nonce(self, endpoint: str, response: httpx.Response, attempt: int) -> bool:
        nonce = is_nonce_challenge(response) if self.dpop is not None else None
        if nonce is None or attempt >= NONCE_RETRIES or self.dpop is None:
            return False
        self.dpop.remember_nonce(endpoint, nonce)
        return True

    def _finish(
        self, grant: str, form: dict[str, str], response: httpx.Response, started: float, t0: float
    ) -> TokenResponse:
        outcome = "ok"
        try:
            return self._parse(grant, form, response, started)
        except OktaError as exc:
            outcome = str(exc.code)
            log.warning(
                "okta token grant=%s client_id=%s failed: %s (request id %s)",
                grant,
                self.client_id,
                exc.code,
                exc.request_id,
            )
            raise
        finally:
            self._count(grant, outcome, t0)

    def _count(self, grant: str, outcome: str, t0: float) -> None:
        self.metrics.token_requests.labels(grant, outcome).inc()
        self.metrics.token_latency.labels(grant, outcome).observe(time.perf_counter() - t0)

    def _parse(
        self, grant: str, form: dict[str, str], response: httpx.Response, started: float
    ) -> TokenResponse:
        if response.status_code != 200:
            raise error_from_response(response, self._context(grant, form))
        try:
            data = orjson.loads(response.content)
            token = TokenResponse(
                access_token=str(data["access_token"]),
                token_type=str(data.get("token_type", "Bearer")),
                expires_in=int(data.get("expires_in", 3600)),
                obtained_at=started,
                scope=data.get("scope"),
                refresh_token=data.get("refresh_token"),
                id_token=data.get("id_token"),
                issued_token_type=data.get("issued_token_type"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise OktaError(
                ErrorCode.OKTA_BAD_RESPONSE,
                f"the token endpoint answered 200 without a usable token ({type(exc).__name__})",
                request_id=response.headers.get("x-okta-request-id"),
            ) from None
        if self.dpop is not None and token.token_type.lower() != "dpop":
            log.info(
                "okta token grant=%s client_id=%s: DPoP proof sent but a %s token came back",
                grant,
                self.client_id,
                token.token_type,
            )
        log.info(
            "okta token grant=%s client_id=%s ok token=%s expires_in=%d",
            grant,
            self.client_id,
            fingerprint(token.access_token),
            token.expires_in,
        )
        return token

    # -- raw grant requests ---------------------------------------------------------------------
    def request_token(self, grant: str, form: dict[str, str]) -> TokenResponse:
        """POST ``grant`` with ``form`` (no cache): client auth, DPoP nonce retry, error mapping."""
        endpoint = self.token_endpoint()
        self._client = self._client or make_client(self.transport)
        started, t0 = self.clock.time(), time.perf_counter()
        form = {"grant_type": grant, **form}
        try:
            for attempt in range(NONCE_RETRIES + 1):
                response = self._client.send(self._build(endpoint, form))
                if not self._nonce(endpoint, response, attempt):
                    break
        except OktaError as exc:  # circuit open, Okta unreachable: raised by the transport
            self._count(grant, str(exc.code), t0)
            raise
        return self._finish(grant, form, response, started, t0)

    async def arequest_token(self, grant: str, form: dict[str, str]) -> TokenResponse:
        """Async twin of :meth:`request_token` (same request building and parsing)."""
        endpoint = await self.atoken_endpoint()
        self._aclient = self._aclient or make_async_client(self.transport)
        started, t0 = self.clock.time(), time.perf_counter()
        form = {"grant_type": grant, **form}
        try:
            for attempt in range(NONCE_RETRIES + 1):
                response = await self._aclient.send(self._build(endpoint, form))
                if not self._nonce(endpoint, response, attempt):
                    break
        except OktaError as exc:  # circuit open, Okta unreachable: raised by the transport
            self._count(grant, str(exc.code), t0)
            raise
        return self._finish(grant, form, response, started, t0)

    # -- forms of the grants --------------------------------------------------------------------
    @staticmethod
    def client_credentials_form(scopes: Iterable[str]) -> dict[str, str]:
        scope = " ".join(scopes)
        return {"scope": scope} if scope else {}

    @staticmethod
    def exchange_form(
        subject_token: str,
        *,
        audience: str,
        scopes: Iterable[str] = (),
        subject_token_type: str = ACCESS_TOKEN_TYPE,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        requested_token_type: str | None = None,
    ) -> dict[str, str]:
        form = {
            "subject_token": subject_token,
            "subject_token_type": subject_token_type,
            "audience": audience,
        }
        if scope := " ".join(scopes):
            form["scope"] = scope
        if actor_token is not None:
            form.update(
                actor_token=actor_token, actor_token_type=actor_token_type or ACCESS_TOKEN_TYPE
            )
        if requested_token_type is not None:
            form["requested_token_type"] = requested_token_type
        return form

    def key(
        self,
        grant: str,
        scopes: Iterable[str] = (),
        audience: str | None = None,
        subject: str | None = None,
    ) -> CacheKey:
        return CacheKey.make(self.issuer, self.client_id, grant, scopes, audience, subject)

    # -- cached conveniences ----------------------------------------------------------------------
    def client_credentials(self, scopes: Iterable[str] = ()) -> TokenResponse:
        scopes = tuple(scopes)
        return self.cache.get_or_fetch(
            self.key("client_credentials", scopes),
            lambda: self.request_token("client_credentials", self.client_credentials_form(scopes)),
        )

    async def aclient_credentials(self, scopes: Iterable[str] = ()) -> TokenResponse:
        scopes = tuple(scopes)
        return await self.cache.aget_or_fetch(
            self.key("client_credentials", scopes),
            lambda: self.arequest_token("client_credentials", self.client_credentials_form(scopes)),
        )

    def exchange(
        self, subject_token: str, *, audience: str, scopes: Iterable[str] = (), **extra: str | None
    ) -> TokenResponse:
        scopes = tuple(scopes)
        form = self.exchange_form(subject_token, audience=audience, scopes=scopes, **extra)  # type: ignore[arg-type]
        return self.cache.get_or_fetch(
            self.key(EXCHANGE_GRANT, scopes, audience, subject_token),
            lambda: self.request_token(EXCHANGE_GRANT, form),
        )

    async def aexchange(
        self, subject_token: str, *, audience: str, scopes: Iterable[str] = (), **extra: str | None
    ) -> TokenResponse:
        scopes = tuple(scopes)
        form = self.exchange_form(subject_token, audience=audience, scopes=scopes, **extra)  # type: ignore[arg-type]
        return await self.cache.aget_or_fetch(
            self.key(EXCHANGE_GRANT, scopes, audience, subject_token),
            lambda: self.arequest_token(EXCHANGE_GRANT, form),
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self.transport.close()

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.aclose()
        await self.transport.aclose()
