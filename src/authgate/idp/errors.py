"""Okta error bodies: OAuth ``{"error","error_description"}`` (okta-wire §2) and ``E00000xx`` objects (§5.2).

Endpoints raise :class:`OAuthProblem` or :class:`OktaProblem`; the app turns them into responses
with the exact member order and headers Okta sends, so client code parsing them sees real shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from starlette.responses import Response

from authgate.idp.ids import error_id

__all__ = [
    "NO_STORE",
    "OAuthProblem",
    "OktaJSONResponse",
    "OktaProblem",
    "not_found",
    "oauth_error",
    "okta_error",
]

# Okta's DPoP nonce example (okta-wire §6) shows these on token-endpoint errors.
NO_STORE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"}
JSON_TYPE = "application/json"


class OktaJSONResponse(Response):
    """JSON with insertion order kept (orjson), because Okta's member order is part of the contract."""

    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def oauth_error(
    status: int, error: str, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An OAuth error answer: ``{"error": ..., "error_description": ...}`` with no-store headers."""
    merged = dict(NO_STORE)
    merged.update(headers or {})
    body = {"error": error, "error_description": description}
    return OktaJSONResponse(body, status_code=status, headers=merged)


def okta_error(
    status: int,
    code: str,
    summary: str,
    causes: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An Okta error object (``errorCode``, ``errorSummary``, ``errorLink``, ``errorId``, ``errorCauses``)."""
    body = {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": error_id(),
        "errorCauses": [{"errorSummary": cause} for cause in causes],
    }
    return OktaJSONResponse(body, status_code=status, headers=dict(headers or {}))


def not_found(resource: str, kind: str) -> Response:
    """``404 E0000007`` for an unknown object, e.g. an authorization server id."""
    return okta_error(404, "E0000007", f"Not found: Resource not found: {resource} ({kind})")


class OAuthProblem(Exception):
    """An OAuth error an endpoint decided to answer with (turned into :func:`oauth_error`)."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return oauth_error(self.status, self.error, self.description, self.headers)


class OktaProblem(Exception):
    """An Okta ``E00000xx`` error an endpoint decided to answer with (turned into :func:`okta_error`)."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        causes: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {summary}")
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = tuple(causes)
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return okta_error(self.status, self.code, self.summary, self.causes, self.headers)
