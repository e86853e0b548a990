"""Doctor checks that a real token passes the verifier and the route policy (RFC 6750 §3.1 codes).

The token fetched with client credentials is verified by the verifier built from the issuer
settings — a wrong audience, a missing required scope or a wrong issuer shows up here with the
values involved. Then every non-public rule of the policy file is evaluated for that principal:
a rule it cannot pass is named with the scope or role it lacks, so "the role claim is missing"
is found by doctor rather than by the first user. Without a policy file only the issuer's
``required_scopes`` were checked, and the report says so.
"""

from __future__ import annotations

from authgate.doctor.context import DoctorContext, unverified_claims
from authgate.doctor.report import CheckResult, Status
from authgate.errors import AuthError, AuthgateError, ErrorCode
from authgate.policy.checks import check_rule
from authgate.policy.rules import Policy, load_policy
from authgate.principal import Principal
from authgate.verifier_builder import build_verifier

__all__ = ["check_policy_file", "check_token_against_policy", "verify_token"]

_FIX = {
    ErrorCode.INVALID_AUDIENCE: "add the token's audience to `audiences`, or point the client at "
    "the authorization server whose Audience is your API",
    ErrorCode.INVALID_ISSUER: "the client gets tokens from another authorization server than "
    "the verifier trusts: align AUTHGATE_OKTA_ISSUER and the issuer (org vs custom server)",
    ErrorCode.INSUFFICIENT_SCOPE: "request the scope (AUTHGATE_OKTA_SCOPES) and grant it in the "
    "access-policy rule, or drop it from required_scopes",
    ErrorCode.UNKNOWN_KEY: "the token is signed by a key the issuer's JWKS does not publish: "
    "org authorization server tokens cannot be verified by anyone but Okta",
}


def _seen(token: str) -> str:
    claims = unverified_claims(token)
    aud = claims.get("aud")
    scp = claims.get("scp", claims.get("scope"))
    return f"token iss={claims.get('iss')!r} aud={aud!r} scopes={scp!r}"


async def verify_token(ctx: DoctorContext, token: str) -> tuple[CheckResult, Principal | None]:
    """Verify ``token`` exactly as the gateway would."""
    check = "token verification"
    if ctx.settings is None or not ctx.settings.all_issuers():
        return CheckResult(check, Status.SKIP, "no issuer configured to verify with"), None
    ctx.progress("token verification")
    try:
        verifier = build_verifier(ctx.settings, clock=ctx.clock)
    except AuthgateError as error:
        return CheckResult(check, Status.FAIL, error.detail, code=str(error.code)), None
    try:
        principal = await verifier.averify(token)
    except AuthError as error:
        fix = _FIX.get(error.code, "see docs/troubleshooting.md for this code")
        reason = f"{error.detail} ({_seen(token)})"
        return CheckResult(check, Status.FAIL, reason, fix=fix, code=str(error.code)), None
    finally:
        await verifier.aclose()
    roles = ", ".join(sorted(principal.roles)) or "none"
    scopes = " ".join(sorted(principal.scopes)) or "none"
    reason = f"verified: subject {principal.subject}, scopes {scopes}, roles {roles}"
    return CheckResult(check, Status.PASS, reason), principal


def _policy_path(ctx: DoctorContext) -> str | None:
    if ctx.gateway is None or ctx.gateway.policy_file is None:
        return None
    return str(ctx.gateway.policy_file)


def load_route_policy(ctx: DoctorContext) -> tuple[CheckResult, Policy | None]:
    """Parse the policy file as the gateway does."""
    check = "policy file"
    path = _policy_path(ctx)
    if path is None:
        return CheckResult(check, Status.SKIP, "no policy_file configured"), None
    try:
        policy = load_policy(path)
    except AuthgateError as error:
        fix = "correct the named line; `authgate policy check FILE` re-checks it"
        return CheckResult(check, Status.FAIL, error.detail, fix=fix, code=str(error.code)), None
    return CheckResult(check, Status.PASS, f"{path}: {len(policy.rules)} rules"), policy


def check_policy_file(ctx: DoctorContext) -> CheckResult:
    return load_route_policy(ctx)[0]


def check_token_against_policy(
    ctx: DoctorContext, principal: Principal, policy: Policy | None
) -> CheckResult:
    """Which route rules this client's token passes, and what it lacks for the others."""
    check = "route policy"
    if policy is None:
        settings = ctx.settings
        required = settings.all_issuers()[0].required_scopes if settings is not None else []
        return CheckResult(
            check,
            Status.SKIP,
            "no route policy: only the issuer's required_scopes "
            f"({' '.join(required) or 'none'}) were checked",
        )
    rules = [r for r in policy.rules if not r.public and not r.deny]
    denied: list[str] = []
    codes: set[str] = set()
    for rule in rules:
        try:
            check_rule(rule, principal, {}, dpop=False)
        except AuthError as error:
            if error.code is ErrorCode.WORKSPACE_DENIED:
                continue  # depends on the request path; not a property of the client
            denied.append(f"{rule.describe()}: {error.detail}")
            codes.add(str(error.code))
    if not denied:
        return CheckResult(check, Status.PASS, f"the token passes all {len(rules)} protected rules")
    role_fix = (
        "add a `role` claim on the authorization server (or AUTHGATE_DEFAULT_ROLE)"
        if not principal.roles and str(ErrorCode.ROLE_MISSING) in codes
        else "grant the scopes/roles named, or use a client meant for those routes"
    )
    status = Status.FAIL if len(denied) == len(rules) else Status.WARN
    reason = ("denied by every protected rule — " if status is Status.FAIL else "") + "; ".join(
        denied
    )
    code = next(iter(codes)) if len(codes) == 1 else None
    return CheckResult(check, status, reason, fix=role_fix, code=code, details={"denied": denied})
