"""Doctor checks of the Okta client: a client-credentials token (RFC 6749 §4.4), then token exchange.

Okta's answers are terse (``invalid_client``, ``access_denied``); each is restated here in plain
words — what authgate sent, what Okta most likely has configured — with the fix, reusing the
hint :mod:`authgate.okta.errors` attaches. The token obtained is then verified by the configured
verifier and held against the route policy (:mod:`authgate.doctor.policy_checks`), which is
where audience, scope and role mismatches surface before a user sees a bare 401.
"""

from __future__ import annotations

from authgate.doctor.context import DoctorContext
from authgate.doctor.report import CheckResult, Status
from authgate.errors import AuthgateError, ConfigError, ErrorCode
from authgate.okta.errors import OktaError
from authgate.okta.settings import OktaSettings, build_token_client
from authgate.okta.token_client import EXCHANGE_GRANT, OktaTokenClient

__all__ = ["client_token", "explain", "token_exchange"]

_FORMS = {
    "client_secret_basic": "the client secret in an Authorization: Basic header",
    "client_secret_post": "the client secret as form fields",
    "client_secret_jwt": "a client assertion signed with the client secret",
    "private_key_jwt": "a client assertion signed with the private key",
    "none": "no client authentication",
}


def explain(error: OktaError, okta: OktaSettings, grant: str, issuer: str) -> str:
    """What an Okta refusal means for this client, in plain words (the fix is ``error.hint``)."""
    scopes = " ".join(okta.scopes) or "(the default scopes)"
    client = okta.client_id or "?"
    if error.code is ErrorCode.OKTA_INVALID_SCOPE:
        oidc = [s for s in okta.scopes if s in ("openid", "profile", "email", "offline_access")]
        if oidc and grant == "client_credentials":
            return (
                f"Okta refused {' '.join(oidc)}: OIDC scopes cannot be requested with client "
                "credentials (there is no user)"
            )
        return f"Okta refused the scopes {scopes} at {issuer}"
    if error.code is ErrorCode.OKTA_DPOP_REQUIRED:
        if okta.dpop:
            return "Okta refused authgate's DPoP proof"
        return "the Okta app requires DPoP-bound tokens and authgate sent no DPoP proof"
    if error.code is ErrorCode.OKTA_INVALID_CLIENT:
        method = okta.effective_auth_method()
        return (
            f"Okta did not accept client {client}: authgate sent {_FORMS.get(method, method)} "
            f"({method}) and the app expects another form or other credentials"
        )
    if error.code is ErrorCode.OKTA_ACCESS_DENIED:
        return (
            f"no access-policy rule on {issuer} allows client {client} the {grant} grant "
            f"with scopes {scopes}"
        )
    if error.code is ErrorCode.OKTA_UNAUTHORIZED_CLIENT:
        return f"the app {client} may not use the {grant} grant"
    return error.detail


def _failure(
    check: str, error: AuthgateError, okta: OktaSettings, grant: str, issuer: str
) -> CheckResult:
    if isinstance(error, OktaError):
        return CheckResult(
            check,
            Status.FAIL,
            explain(error, okta, grant, issuer),
            fix=error.hint or "see docs/troubleshooting.md for this code",
            code=str(error.code),
            details={"okta_error": error.error, "request_id": error.request_id},
        )
    return CheckResult(
        check,
        Status.FAIL,
        error.detail,
        fix="set the named setting (AUTHGATE_OKTA_*)",
        code=str(error.code),
    )


def build_client(ctx: DoctorContext) -> OktaTokenClient | CheckResult:
    """The token client the gateway and CLI would build, or the failed check explaining why not."""
    assert ctx.okta is not None
    try:
        return build_token_client(ctx.okta, clock=ctx.clock, issuer=ctx.okta_issuer())
    except ConfigError as error:
        return CheckResult(
            "okta client",
            Status.FAIL,
            error.detail,
            fix="set the named AUTHGATE_OKTA_* setting (secrets only in the environment)",
            code=str(error.code),
        )


async def client_token(
    ctx: DoctorContext, client: OktaTokenClient
) -> tuple[CheckResult, str | None]:
    """Fetch one client-credentials token (no cache); the result and the token on success."""
    assert ctx.okta is not None
    check = "okta client credentials"
    ctx.progress("okta client credentials")
    form = client.client_credentials_form(ctx.okta.scopes)
    try:
        token = await client.arequest_token("client_credentials", form)
    except AuthgateError as error:
        return _failure(check, error, ctx.okta, "client_credentials", client.issuer), None
    kind = token.token_type
    if ctx.okta.dpop and kind.lower() != "dpop":
        return (
            CheckResult(
                check,
                Status.WARN,
                f"got a {kind} token although DPoP proofs were sent",
                fix="enable 'Require DPoP' on the Okta app, or set AUTHGATE_OKTA_DPOP=false",
            ),
            token.access_token,
        )
    reason = (
        f"{kind} token for client {ctx.okta.client_id} from {client.issuer}, "
        f"scopes {token.scope or '(default)'}, expires in {token.expires_in} s"
    )
    return CheckResult(check, Status.PASS, reason), token.access_token


def _exchange_audience(ctx: DoctorContext) -> str | None:
    if ctx.gateway is not None and ctx.gateway.exchange_audience:
        return ctx.gateway.exchange_audience
    return ctx.okta.audience if ctx.okta is not None else None


async def token_exchange(ctx: DoctorContext, client: OktaTokenClient | None) -> CheckResult:
    """One RFC 8693 exchange of ``ctx.subject_token`` for the configured upstream audience."""
    check = "okta token exchange"
    audience = _exchange_audience(ctx)
    if audience is None:
        return CheckResult(check, Status.SKIP, "no exchange audience configured")
    if client is None or ctx.okta is None:
        return CheckResult(check, Status.SKIP, "no Okta client configured to exchange with")
    if not ctx.subject_token:
        return CheckResult(
            check,
            Status.SKIP,
            f"exchange for {audience} configured, but no user token given to try it with",
            fix="run `authgate doctor --subject-token -` with a user's access token on stdin",
        )
    ctx.progress("okta token exchange")
    scopes = ctx.gateway.exchange_scopes if ctx.gateway is not None else []
    form = client.exchange_form(ctx.subject_token, audience=audience, scopes=scopes)
    try:
        token = await client.arequest_token(EXCHANGE_GRANT, form)
    except OktaError as error:
        return CheckResult(
            check,
            Status.FAIL,
            _exchange_reason(error, audience, client.issuer),
            fix=_exchange_fix(error, client),
            code=str(error.code),
            details={"okta_error": error.error, "request_id": error.request_id},
        )
    except AuthgateError as error:
        return _failure(check, error, ctx.okta, EXCHANGE_GRANT, client.issuer)
    return CheckResult(
        check, Status.PASS, f"exchanged for a {token.token_type} token with audience {audience}"
    )


def _exchange_reason(error: OktaError, audience: str, issuer: str) -> str:
    text = (error.description or "").lower()
    if error.code is ErrorCode.OKTA_ACCESS_DENIED and "trusted" in text:
        return f"{issuer} does not trust the issuer of the subject token"
    if error.error == "invalid_target":
        return f"{audience!r} is not an audience of {issuer}"
    if error.code is ErrorCode.OKTA_INVALID_GRANT:
        return "the subject token expired or was revoked"
    if error.code is ErrorCode.OKTA_UNAUTHORIZED_CLIENT:
        return "the app may not use the token exchange grant"
    if error.code is ErrorCode.OKTA_ACCESS_DENIED:
        return f"no access-policy rule on {issuer} allows token exchange for this app"
    return error.detail


def _exchange_fix(error: OktaError, client: OktaTokenClient) -> str:
    text = (error.description or "").lower()
    if error.code is ErrorCode.OKTA_ACCESS_DENIED and "trusted" in text:
        return (
            f"add the subject token's authorization server to the Trusted servers of "
            f"{client.issuer} (Okta: Security > API > the server > Settings)"
        )
    if error.error == "invalid_target":
        return "set exchange_audience to the target authorization server's Audience"
    if error.code is ErrorCode.OKTA_INVALID_GRANT:
        return "pass a fresh user access token with --subject-token"
    return error.hint or "see docs/troubleshooting.md for this code"
