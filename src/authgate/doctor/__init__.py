"""``authgate doctor`` (issue #9): live checks that find configuration mistakes before users do.

Most failed Okta integrations are configuration mistakes that surface as a bare 401. Doctor
reads the same settings as ``serve`` and the client and checks, in dependency order: the
settings load; per issuer discovery, the exact issuer, the JWKS and its caching, clock skew;
with client credentials configured a real token, verified and held against the route policy;
token exchange; the Management API; the token store, Redis, the bootstrap token and the policy
file. Each check is one :class:`CheckResult`; :attr:`Report.exit_code` is 0/1/2.
"""

from __future__ import annotations

from authgate.doctor.context import DoctorContext, load_context
from authgate.doctor.issuer_checks import check_issuer
from authgate.doctor.management_checks import check_management
from authgate.doctor.okta_checks import build_client, client_token, token_exchange
from authgate.doctor.policy_checks import (
    check_token_against_policy,
    load_route_policy,
    verify_token,
)
from authgate.doctor.report import CheckResult, Report, Status
from authgate.doctor.store_checks import check_bootstrap, check_redis, check_store

__all__ = ["CheckResult", "DoctorContext", "Report", "Status", "load_context", "run_doctor"]


async def _okta(ctx: DoctorContext, report: Report) -> None:
    policy_result, policy = load_route_policy(ctx)
    if not ctx.okta_client_configured:
        report.add(
            CheckResult("okta client credentials", Status.SKIP, "no AUTHGATE_OKTA_CLIENT_ID")
        )
        report.add(await token_exchange(ctx, None))
    else:
        client = build_client(ctx)
        if isinstance(client, CheckResult):
            report.add(client)
            report.add(await token_exchange(ctx, None))
        else:
            try:
                result, token = await client_token(ctx, client)
                report.add(result)
                if token is not None:
                    verified, principal = await verify_token(ctx, token)
                    report.add(verified)
                    if principal is not None:
                        report.add(check_token_against_policy(ctx, principal, policy))
                report.add(await token_exchange(ctx, client))
            finally:
                await client.aclose()
    report.add(await check_management(ctx))
    report.add(policy_result)


async def run_doctor(ctx: DoctorContext) -> Report:
    """Run every check that applies to ``ctx``; never raises for a configuration problem."""
    report = Report(list(ctx.load_errors))
    issuers = ctx.settings.all_issuers() if ctx.settings is not None else []
    if ctx.settings is not None and not issuers:
        report.add(
            CheckResult(
                "issuers",
                Status.FAIL,
                "no issuer configured",
                fix="set AUTHGATE_ISSUER or add [[issuers]] to the config file",
                code="config.invalid",
            )
        )
    for cfg in issuers:
        report.extend(await check_issuer(ctx, cfg))
    await _okta(ctx, report)
    report.add(await check_store(ctx))
    report.extend(await check_redis(ctx))
    report.add(check_bootstrap(ctx))
    return report
