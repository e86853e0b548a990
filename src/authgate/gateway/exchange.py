"""Token exchange for the upstream (RFC 8693 §2.1), on the caller's behalf, through the Okta client.

Why: a service chain keeps the user traceable end to end when the upstream receives a token
minted *for it* (its audience and scopes, an ``act`` claim naming the gateway) instead of the
caller's token, which was meant for the gateway. Exchanged tokens are cached per subject token
by the Okta client's :class:`~authgate.okta.token_cache.TokenCache` (single flight, optional
Redis store), so a burst of requests with one user token costs one exchange.
"""

from __future__ import annotations

from collections.abc import Iterable

from authgate.errors import AuthError, AuthgateError
from authgate.okta.auth import TokenExchangeAuth
from authgate.okta.token_client import OktaTokenClient

__all__ = ["UpstreamTokenExchange"]


class UpstreamTokenExchange:
    """Exchanges a caller's access token for one addressed to the upstream."""

    def __init__(
        self, client: OktaTokenClient, *, audience: str, scopes: Iterable[str] = ()
    ) -> None:
        self.client = client
        self.audience = audience
        self.scopes = tuple(scopes)

    async def exchange(self, subject_token: str) -> str:
        """The upstream token; an Okta failure becomes an AuthError with its code and status."""
        auth = TokenExchangeAuth(
            self.client, subject_token, audience=self.audience, scopes=self.scopes
        )
        try:
            response = await auth.atoken()
        except AuthError:
            raise
        except AuthgateError as error:
            status = getattr(error, "status", None)
            raise AuthError(error.code, error.detail, status=status or 503) from None
        return response.access_token
