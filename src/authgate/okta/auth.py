"""Okta tokens as ``httpx.Auth`` flows (RFC 6749 §4.4, §4.3, §6; RFC 8693 §2.1; RFC 9449 §7).

Attach one to an ``httpx.Client``/``AsyncClient`` and every request carries a cached, fresh token
(``Authorization: Bearer …``, or ``DPoP …`` plus a proof with ``ath`` for DPoP-bound tokens).
When the resource answers 401 with ``invalid_token`` (or with no challenge at all, as Okta's
Management API does), the token is dropped, a new one fetched and the request retried once; a
resource ``use_dpop_nonce`` challenge is answered with a fresh proof carrying the nonce. Both the
sync and the async flow are implemented; the cache serialises fetches per key and flavour.
Each class also offers ``token()`` / ``atoken()`` for code that only needs the token.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterable

import httpx

from authgate.errors import ErrorCode
from authgate.okta.dpop import is_nonce_challenge
from authgate.okta.errors import OktaError
from authgate.okta.token_cache import CacheKey, TokenResponse
from authgate.okta.token_client import ACCESS_TOKEN_TYPE, EXCHANGE_GRANT, OktaTokenClient

__all__ = [
    "ClientCredentialsAuth",
    "OktaTokenAuth",
    "PasswordAuth",
    "RefreshTokenAuth",
    "TokenExchangeAuth",
]


def needs_new_token(response: httpx.Response) -> bool:
    """A 401 that says the token is bad (``invalid_token``) or gives no challenge at all."""
    if response.status_code != 401:
        return False
    challenge = response.headers.get("www-authenticate", "")
    return not challenge or "invalid_token" in challenge


class OktaTokenAuth(httpx.Auth):
    """Shared flow; subclasses say which cache key and how to fetch (sync and async)."""

    requires_request_body = True  # the request may be sent twice

    def __init__(self, client: OktaTokenClient) -> None:
        self.client = client

    # subclass hooks -------------------------------------------------------------------------
    def cache_key(self) -> CacheKey:
        raise NotImplementedError

    def fetch(self) -> TokenResponse:
        raise NotImplementedError

    async def afetch(self) -> TokenResponse:
        raise NotImplementedError

    # plain token access -----------------------------------------------------------------------
    def token(self) -> TokenResponse:
        return self.client.cache.get_or_fetch(self.cache_key(), self.fetch)

    async def atoken(self) -> TokenResponse:
        return await self.client.cache.aget_or_fetch(self.cache_key(), self.afetch)

    def _apply(self, request: httpx.Request, token: TokenResponse) -> httpx.Request:
        dpop = self.client.dpop
        if token.token_type.lower() == "dpop" and dpop is not None:
            request.headers["Authorization"] = f"DPoP {token.access_token}"
            request.headers["DPoP"] = dpop.proof(
                request.method, request.url, access_token=token.access_token
            )
        else:
            request.headers["Authorization"] = f"Bearer {token.access_token}"
        return request

    def _nonce_retry(self, request: httpx.Request, response: httpx.Response) -> bool:
        dpop = self.client.dpop
        nonce = is_nonce_challenge(response) if dpop is not None else None
        if nonce is None or dpop is None or "DPoP" not in request.headers:
            return False
        dpop.remember_nonce(request.url, nonce)
        return True

    # httpx flows ------------------------------------------------------------------------------
    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        response = yield self._apply(request, token)
        if self._nonce_retry(request, response):
            response = yield self._apply(request, token)
        if needs_new_token(response):
            self.client.cache.invalidate(self.cache_key(), token.access_token)
            yield self._apply(request, self.token())

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.atoken()
        response = yield self._apply(request, token)
        if self._nonce_retry(request, response):
            response = yield self._apply(request, token)
        if needs_new_token(response):
            await self.client.cache.ainvalidate(self.cache_key(), token.access_token)
            yield self._apply(request, await self.atoken())


class ClientCredentialsAuth(OktaTokenAuth):
    """Client credentials grant (RFC 6749 §4.4): service-to-service tokens for ``scopes``."""

    def __init__(self, client: OktaTokenClient, scopes: Iterable[str] = ()) -> None:
        super().__init__(client)
        self.scopes = tuple(scopes)
        self._key = client.key("client_credentials", self.scopes)
        self._form = client.client_credentials_form(self.scopes)

    def cache_key(self) -> CacheKey:
        return self._key

    def fetch(self) -> TokenResponse:
        return self.client.request_token("client_credentials", self._form)

    async def afetch(self) -> TokenResponse:
        return await self.client.arequest_token("client_credentials", self._form)


class TokenExchangeAuth(OktaTokenAuth):
    """Token exchange (RFC 8693 §2.1), on-behalf-of: a downstream token for the user's token.

    ``subject_token`` may be a callable so one auth object follows the current request's user
    (a gateway passes a context-variable reader); cache entries are per subject-token hash.
    """

    def __init__(
        self,
        client: OktaTokenClient,
        subject_token: str | Callable[[], str],
        *,
        audience: str,
        scopes: Iterable[str] = (),
        subject_token_type: str = ACCESS_TOKEN_TYPE,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> None:
        super().__init__(client)
        self._subject = subject_token
        self.audience, self.scopes = audience, tuple(scopes)
        self.subject_token_type = subject_token_type
        self.actor_token, self.actor_token_type = actor_token, actor_token_type

    def _subject_token(self) -> str:
        value = self._subject() if callable(self._subject) else self._subject
        if not value:
            raise OktaError(
                ErrorCode.OKTA_INVALID_REQUEST,
                "token exchange needs a subject token; none was given",
            )
        return value

    def cache_key(self) -> CacheKey:
        return self.client.key(EXCHANGE_GRANT, self.scopes, self.audience, self._subject_token())

    def _form(self) -> dict[str, str]:
        return self.client.exchange_form(
            self._subject_token(),
            audience=self.audience,
            scopes=self.scopes,
            subject_token_type=self.subject_token_type,
            actor_token=self.actor_token,
            actor_token_type=self.actor_token_type,
        )

    def fetch(self) -> TokenResponse:
        return self.client.request_token(EXCHANGE_GRANT, self._form())

    async def afetch(self) -> TokenResponse:
        return await self.client.arequest_token(EXCHANGE_GRANT, self._form())


class RefreshTokenAuth(OktaTokenAuth):
    """Refresh grant (RFC 6749 §6) for both Okta modes: STATIC echoes the same refresh token,
    ROTATE returns a new one each time — the newest is always kept in :attr:`refresh_token`."""

    def __init__(
        self, client: OktaTokenClient, refresh_token: str, *, scopes: Iterable[str] = ()
    ) -> None:
        super().__init__(client)
        self.scopes = tuple(scopes)
        self._refresh = refresh_token
        self._refresh_lock = threading.Lock()
        self._key = client.key("refresh_token", self.scopes, subject=refresh_token)

    @property
    def refresh_token(self) -> str:
        """The current refresh token (persist it: under ROTATE the old one soon stops working)."""
        return self._refresh

    def cache_key(self) -> CacheKey:
        return self._key

    def _form(self) -> dict[str, str]:
        form = {"refresh_token": self._refresh}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        return form

    def _keep(self, token: TokenResponse) -> TokenResponse:
        if token.refresh_token:
            with self._refresh_lock:
                self._refresh = token.refresh_token
        return token

    def fetch(self) -> TokenResponse:
        return self._keep(self.client.request_token("refresh_token", self._form()))

    async def afetch(self) -> TokenResponse:
        return self._keep(await self.client.arequest_token("refresh_token", self._form()))


class PasswordAuth(RefreshTokenAuth):
    """Resource owner password grant (RFC 6749 §4.3) for network AAA, then refresh if granted.

    Request ``offline_access`` to get a refresh token: later fetches use it (STATIC or ROTATE)
    and fall back to the password only when Okta refuses the refresh token.
    """

    def __init__(
        self,
        client: OktaTokenClient,
        username: str,
        password: str,
        *,
        scopes: Iterable[str] = ("openid",),
    ) -> None:
        super().__init__(client, "", scopes=scopes)
        self.username = username
        self._password = password
        self._key = client.key("password", self.scopes, subject=username)

    def __repr__(self) -> str:
        return f"PasswordAuth(username={self.username!r}, scopes={self.scopes!r})"

    def _password_form(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self._password,
            "scope": " ".join(self.scopes),
        }

    def fetch(self) -> TokenResponse:
        if self._refresh:
            try:
                return super().fetch()
            except OktaError as exc:
                if exc.code is not ErrorCode.OKTA_INVALID_GRANT:
                    raise
        return self._keep(self.client.request_token("password", self._password_form()))

    async def afetch(self) -> TokenResponse:
        if self._refresh:
            try:
                return await super().afetch()
            except OktaError as exc:
                if exc.code is not ErrorCode.OKTA_INVALID_GRANT:
                    raise
        return self._keep(await self.client.arequest_token("password", self._password_form()))
