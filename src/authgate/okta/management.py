"""Okta Management API client (okta-wire §5): users, groups, a user's groups, apps — typed.

Authenticates with an SSWS API token (:class:`SSWSAuth`) or with an org-authorization-server
token — ``private_key_jwt`` client credentials with ``okta.*`` scopes, optionally DPoP-bound —
through :class:`~authgate.okta.auth.ClientCredentialsAuth`. Lists follow ``Link: rel="next"``
verbatim (Okta caps a user's groups at 200 per page). Every call goes through the shared
resilient transport, so GETs retry on 429/5xx and honour ``X-Rate-Limit-Reset``; failures become
:class:`~authgate.okta.errors.OktaError` with hints (missing scope, missing admin role, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from authgate.errors import ErrorCode
from authgate.okta.errors import ErrorContext, OktaError, error_from_response
from authgate.okta.transport import IDEMPOTENT_EXTENSION, ResilientTransport, make_async_client

__all__ = ["ManagementClient", "OktaApp", "OktaGroup", "OktaUser", "SSWSAuth"]

log = logging.getLogger("authgate.okta.management")
MAX_PAGES = 1000  # a safety stop against a server that links to itself forever


class SSWSAuth(httpx.Auth):
    """``Authorization: SSWS <api token>`` (okta-wire §5.1); the token never appears in repr."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("empty SSWS token")
        self._token = token

    def __repr__(self) -> str:
        return "SSWSAuth(<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"SSWS {self._token}"
        yield request


@dataclass(frozen=True)
class OktaUser:
    id: str
    status: str
    login: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    profile: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OktaUser:
        profile = data.get("profile") or {}
        return cls(
            id=str(data["id"]),
            status=str(data.get("status", "")),
            login=str(profile.get("login", "")),
            email=profile.get("email"),
            first_name=profile.get("firstName"),
            last_name=profile.get("lastName"),
            profile=dict(profile),
        )


@dataclass(frozen=True)
class OktaGroup:
    id: str
    name: str
    description: str = ""
    type: str = "OKTA_GROUP"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OktaGroup:
        profile = data.get("profile") or {}
        return cls(
            id=str(data["id"]),
            name=str(profile.get("name", "")),
            description=str(profile.get("description") or ""),
            type=str(data.get("type", "OKTA_GROUP")),
        )


@dataclass(frozen=True)
class OktaApp:
    id: str
    label: str
    name: str
    status: str
    sign_on_mode: str | None = None
    client_id: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OktaApp:
        oauth = (data.get("credentials") or {}).get("oauthClient") or {}
        return cls(
            id=str(data["id"]),
            label=str(data.get("label", "")),
            name=str(data.get("name", "")),
            status=str(data.get("status", "")),
            sign_on_mode=data.get("signOnMode"),
            client_id=oauth.get("client_id"),
        )


class ManagementClient:
    """Async client for ``{org}/api/v1``; ``auth`` is :class:`SSWSAuth` or an OAuth flow."""

    def __init__(
        self, org_url: str, auth: httpx.Auth, *, transport: ResilientTransport | None = None
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.transport = transport or ResilientTransport(name="okta-management")
        self._client = make_async_client(
            self.transport,
            auth=auth,
            headers={"Accept": "application/json"},
        )

    async def __aenter__(self) -> ManagementClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        request = self._client.build_request("GET", url, params=params)
        request.extensions[IDEMPOTENT_EXTENSION] = True
        response = await self._client.send(request)
        if response.status_code != 200:
            error = error_from_response(response, ErrorContext(api=True))
            log.warning(
                "okta api GET %s: %s (request id %s)",
                request.url.path,
                error.code,
                error.request_id,
            )
            raise error
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise OktaError(
                ErrorCode.OKTA_BAD_RESPONSE, "the Management API answered 200 with invalid JSON"
            ) from None

    async def _list(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        url: str | None = f"{self.org_url}{path}"
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            response = await self._get(url, params)
            params = None  # the next link carries every parameter
            page = self._json(response)
            if not isinstance(page, list):
                raise OktaError(ErrorCode.OKTA_BAD_RESPONSE, f"{path}: expected a JSON array")
            items.extend(p for p in page if isinstance(p, dict))
            url = _next_link(response)
            if url is not None and not url.startswith(self.org_url + "/"):
                # Following a foreign link would hand our credentials to another host.
                raise OktaError(
                    ErrorCode.OKTA_BAD_RESPONSE, f"{path}: next link leaves {self.org_url}"
                )
        raise OktaError(ErrorCode.OKTA_BAD_RESPONSE, f"{path}: more than {MAX_PAGES} pages")

    async def user(self, user_id: str) -> OktaUser:
        """A user by id, login or login short name."""
        response = await self._get(f"{self.org_url}/api/v1/users/{quote(user_id, safe='@')}")
        return OktaUser.from_json(self._json(response))

    async def users(self, q: str | None = None, *, limit: int = 200) -> list[OktaUser]:
        params = {"limit": str(limit), **({"q": q} if q else {})}
        return [OktaUser.from_json(u) for u in await self._list("/api/v1/users", params)]

    async def user_groups(self, user_id: str) -> list[OktaGroup]:
        """Every group of a user, following ``Link`` paging."""
        path = f"/api/v1/users/{quote(user_id, safe='@')}/groups"
        return [OktaGroup.from_json(g) for g in await self._list(path)]

    async def group(self, group_id: str) -> OktaGroup:
        response = await self._get(f"{self.org_url}/api/v1/groups/{quote(group_id)}")
        return OktaGroup.from_json(self._json(response))

    async def groups(self, q: str | None = None) -> list[OktaGroup]:
        params = {"q": q} if q else None
        return [OktaGroup.from_json(g) for g in await self._list("/api/v1/groups", params)]

    async def apps(self, *, limit: int = 200) -> list[OktaApp]:
        return [
            OktaApp.from_json(a) for a in await self._list("/api/v1/apps", {"limit": str(limit)})
        ]


def _next_link(response: httpx.Response) -> str | None:
    # Okta sends each Link as its own header; httpx's .links only reads the first one.
    for value in response.headers.get_list("link"):
        for part in value.split(","):
            target, _, rest = part.partition(";")
            if 'rel="next"' in rest.replace(" ", ""):
                return target.strip().strip("<>")
    return None
