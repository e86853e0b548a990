"""Token-endpoint grant handlers (okta-wire §2.2-§2.6), one module per grant type."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from authgate.idp.config import CC_GRANT, EXCHANGE_GRANT
from authgate.idp.grants.authorization_code import authorization_code
from authgate.idp.grants.base import GrantContext
from authgate.idp.grants.client_credentials import client_credentials
from authgate.idp.grants.exchange import token_exchange
from authgate.idp.grants.password import password
from authgate.idp.grants.refresh import refresh_token

__all__ = ["CUSTOM_GRANTS", "GRANTS", "ORG_GRANTS", "GrantContext"]

GRANTS: dict[str, Callable[[GrantContext], Response]] = {
    "authorization_code": authorization_code,
    "password": password,
    "refresh_token": refresh_token,
    CC_GRANT: client_credentials,
    EXCHANGE_GRANT: token_exchange,
}
CUSTOM_GRANTS = tuple(GRANTS)
ORG_GRANTS = ("authorization_code", "password", "refresh_token", CC_GRANT)
