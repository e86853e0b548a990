"""The built-in demo org of ``authgate idp`` (okta-wire §8): every secret here is DEV-ONLY.

Three authorization servers (org, ``default``, ``partner`` trusted by ``default`` for token
exchange), one app per flow, five users covering the interesting account states, and one SSWS
token. Secrets can be overridden from the environment; the defaults are public on purpose.
"""

from __future__ import annotations

from typing import Any

from authgate.idp import ids

__all__ = ["DEMO", "PARTNER_SERVER_ID"]

PARTNER_SERVER_ID = ids.stable_id(ids.AUTH_SERVER, "partner")
_CODE = "authorization_code"
_LOOPBACK = ["http://127.0.0.1/callback", "http://localhost/callback"]
_OKTA_READ = ["okta.users.read", "okta.groups.read", "okta.apps.read"]

_ROLE = {"name": "role", "value": "user.role || app.role"}
_GROUPS = {"name": "groups", "kind": "groups", "group_filter": ".*", "id_token": True}

DEMO: dict[str, Any] = {
    "admin_token": "${AUTHGATE_IDP_ADMIN_TOKEN:-dev-admin-token}",
    "servers": [
        {"id": "org", "name": "Org Authorization Server"},
        {
            "id": "default",
            "name": "default",
            "description": "Default Authorization Server",
            "audiences": ["api://default"],
            "scopes": [
                {"name": "api:read", "description": "Read the API", "default": True},
                {"name": "api:write", "description": "Change things through the API"},
                {
                    "name": "api:admin",
                    "description": "Administer",
                    "metadata_publish": "NO_CLIENTS",
                },
            ],
            "claims": [_ROLE, _GROUPS],
            "trusted_servers": [PARTNER_SERVER_ID],
        },
        {
            "id": PARTNER_SERVER_ID,
            "name": "partner",
            "description": "A second custom server whose tokens `default` accepts for exchange",
            "audiences": ["api://partner"],
            "scopes": [{"name": "partner:read", "default": True}],
            "claims": [_ROLE],
        },
    ],
    "apps": [
        {
            "name": "demo-service",
            "client_secret": "${AUTHGATE_IDP_DEMO_SECRET:-demo-service-secret-DEV-ONLY-0123456789}",
            "role": "User",
        },
        {
            "name": "demo-admin",
            "client_secret": "demo-admin-secret-DEV-ONLY-0123456789abcdef",
            "role": "Admin",
        },
        {
            "name": "demo-jwt",
            "auth_method": "private_key_jwt",
            "generate_key": True,
            "okta_scopes": _OKTA_READ,
            "role": "Admin",
        },
        {
            "name": "demo-dpop",
            "auth_method": "private_key_jwt",
            "generate_key": True,
            "dpop_bound_access_tokens": True,
            "okta_scopes": _OKTA_READ,
            "role": "User",
        },
        {
            "name": "demo-exchange",
            "client_secret": "demo-exchange-secret-DEV-ONLY-0123456789abc",
            "grants": [],
            "token_exchange": True,
            "role": "Service",
        },
        {
            "name": "demo-web",
            "type": "web",
            "grants": [_CODE, "refresh_token"],
            "client_secret": "demo-web-secret-DEV-ONLY-0123456789abcdefgh",
            "redirect_uris": _LOOPBACK,
        },
        {
            "name": "demo-spa",
            "type": "browser",
            "grants": [_CODE, "refresh_token"],
            "auth_method": "none",
            "redirect_uris": _LOOPBACK,
            "refresh_rotation": "ROTATE",
        },
        {
            "name": "demo-native",
            "type": "native",
            "grants": ["refresh_token"],
            "password_grant": True,
            "client_secret": "demo-native-secret-DEV-ONLY-0123456789abcdef",
        },
    ],
    "users": [
        {
            "login": "alice@example.com",
            "password": "Alice-DEV-only-1",
            "profile": {"firstName": "Alice", "lastName": "Admin"},
            "groups": ["Network-Admins"],
            "role": "Admin",
        },
        {
            "login": "bob@example.com",
            "password": "Bob-DEV-only-1",
            "profile": {"firstName": "Bob", "lastName": "Operator"},
            "groups": ["Operators"],
            "role": "Operator",
        },
        {
            "login": "carol@example.com",
            "password": "Carol-DEV-only-1",
            "profile": {"firstName": "Carol", "lastName": "Totp"},
            "groups": ["Users"],
            "mfa": [{"type": "token:software:totp", "secret": "JBSWY3DPEHPK3PXP"}],
        },
        {
            "login": "dave@example.com",
            "password": "Dave-DEV-only-1",
            "status": "LOCKED_OUT",
            "profile": {"firstName": "Dave", "lastName": "Locked"},
            "groups": ["Users"],
        },
        {
            "login": "erin@example.com",
            "password": "Erin-DEV-only-1",
            "profile": {"firstName": "Erin", "lastName": "Push"},
            "groups": ["Users"],
            "mfa": [{"type": "push", "answer": "approve"}],
        },
    ],
    "groups": [
        {"name": "Everyone", "description": "All users in your organization", "type": "BUILT_IN"},
        {"name": "Network-Admins", "description": "Administer network devices"},
        {"name": "Operators", "description": "Operate network devices"},
        {"name": "Users", "description": "Ordinary users"},
    ],
    "api_tokens": [
        {
            "name": "dev",
            "value": "${AUTHGATE_IDP_API_TOKEN:-dev-ssws-token}",
            "user": "alice@example.com",
        }
    ],
    "rate_limits": [
        {"family": "authn", "path_prefix": "/api/v1/authn", "per_minute": 600, "concurrency": 75},
        {"family": "users", "path_prefix": "/api/v1/users", "per_minute": 600, "concurrency": 75},
        {"family": "groups", "path_prefix": "/api/v1/groups", "per_minute": 500, "concurrency": 75},
        {"family": "apps", "path_prefix": "/api/v1/apps", "per_minute": 100, "concurrency": 75},
        {"family": "token", "path_prefix": "/oauth2", "per_minute": 1200, "concurrency": 75},
    ],
}
