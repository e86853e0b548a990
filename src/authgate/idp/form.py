"""Strict form reading for ``/token``, ``/introspect``, ``/revoke`` (okta-wire §2, §2.1, §8.3).

Okta refuses duplicate parameters and credentials in the query string with fixed texts; a
wrong content type, an oversized or undecodable body become OAuth ``invalid_request`` answers
rather than server errors.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from authgate.idp.errors import OAuthProblem

__all__ = ["FORM_TYPE", "read_form", "reject_query_credentials"]

FORM_TYPE = "application/x-www-form-urlencoded"
_QUERY_CREDENTIALS = ("client_secret", "client_assertion", "client_assertion_type")


def _bad(description: str, status: int = 400) -> OAuthProblem:
    return OAuthProblem(status, "invalid_request", description)


def reject_query_credentials(request: Request) -> None:
    if not request.scope.get("query_string"):
        return  # the usual case: no query to parse
    if any(name in request.query_params for name in _QUERY_CREDENTIALS):
        raise _bad("Client credentials cannot be supplied via query parameters.")


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """The body parameters as a dict, after every §2.1 request-shape rule."""
    reject_query_credentials(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (FORM_TYPE, ""):
        raise _bad(f"The request must have a Content-Type of {FORM_TYPE}.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _bad("The request body is too large.", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _bad("The request body is too large.", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not media_type:
        # An empty body without a type is an empty form (the parameter checks then speak);
        # anything else must say what it is.
        if body:
            raise _bad(f"The request must have a Content-Type of {FORM_TYPE}.")
        return {}
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad("The request body could not be parsed.") from exc
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise _bad("The request contained multiple parameters with the same name.")
    return dict(pairs)
