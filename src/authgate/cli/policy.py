"""``authgate policy``: check a route policy file, and explain a decision for one request.

``authgate policy check FILE`` parses the file exactly as the gateway does and prints the rules,
or the line and reason of the first error (exit 1). ``authgate policy test METHOD URL --token …``
finds the rule that matches (first match wins, default deny), verifies the token with the
configured issuers (or the service-token store for ``ag_`` tokens), and says which requirement
allowed or denied it, with the same stable code the gateway would answer.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.markup import escape

from authgate.authn.base import Credential
from authgate.errors import AuthError, AuthgateError, ErrorCode
from authgate.gateway.settings import load_gateway_settings
from authgate.policy.checks import check_rule, no_rule
from authgate.policy.rules import Policy, Rule, canonical_path, load_policy
from authgate.principal import Principal

from .output import console, fail, print_json

__all__ = ["app"]

app = typer.Typer(help="Check route policy files and explain decisions.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (issuers, [gateway]).")
]


def _requirements(rule: Rule) -> list[str]:
    parts: list[str] = []
    if rule.public:
        return ["public (no credential needed)"]
    if rule.deny:
        parts.append("deny")
    if rule.kinds is not None:
        parts.append(f"kinds: {', '.join(sorted(rule.kinds))}")
    if rule.issuers is not None:
        parts.append(f"issuers: {', '.join(sorted(rule.issuers))}")
    if rule.require_dpop:
        parts.append("DPoP-bound token")
    if rule.scopes:
        parts.append(f"all scopes: {' '.join(rule.scopes)}")
    if rule.any_scopes:
        parts.append(f"any scope of: {' '.join(rule.any_scopes)}")
    if rule.roles:
        parts.append(f"roles: {', '.join(rule.roles)}")
    if rule.any_roles:
        parts.append(f"any role of: {', '.join(rule.any_roles)}")
    if rule.workspace_param:
        parts.append(f"workspace from {{{rule.workspace_param}}}")
    if rule.min_privilege is not None:
        parts.append(f"privilege >= {rule.min_privilege}")
    return parts or ["authenticated"]


async def _principal(token: str, config: Path | None) -> Principal:
    from authgate.service_tokens.format import PREFIX

    if token.startswith(PREFIX):
        from authgate.authn.service_token import ServiceTokenAuthenticator
        from authgate.service_tokens.settings import TokenSettings
        from authgate.service_tokens.store import TokenStore

        store = TokenStore.from_settings(TokenSettings.load())
        try:
            found = await ServiceTokenAuthenticator(store).authenticate(Credential(token))
        finally:
            await store.aclose()
        if found is None:  # pragma: no cover - the prefix was checked above
            raise typer.BadParameter("not a service token")
        return found
    from authgate.settings import load_settings
    from authgate.verifier_builder import build_verifier

    verifier = build_verifier(load_settings(config))
    try:
        return await verifier.averify(token)
    finally:
        await verifier.aclose()


def _explain(
    policy: Policy, method: str, url: str, token: str | None, config: Path | None
) -> dict[str, Any]:
    parts = urlsplit(url)
    host = parts.netloc or "-"
    path = canonical_path(parts.path or "/")
    result: dict[str, Any] = {"method": method, "host": host, "path": parts.path or "/"}
    if path is None:
        result.update(decision="deny", code="auth.access_denied", reason="ambiguous path")
        return result
    found = policy.match(method, host, path)
    if found is None:
        error = no_rule(method, host, path)
        result.update(rule=None, decision="deny", code=str(error.code), reason=error.detail)
        return result
    rule, params = found
    result.update(rule=rule.name, line=rule.line, params=params, requirements=_requirements(rule))
    if rule.public:
        result.update(decision="allow", reason="the rule is public")
        return result
    try:
        if not token:
            raise AuthError(ErrorCode.MISSING_TOKEN, "no --token given; this rule needs one")
        principal = asyncio.run(_principal(token, config))
        result["principal"] = principal.to_dict()
        check_rule(rule, principal, params, dpop=False)
    except AuthError as error:
        result.update(
            decision="deny", code=str(error.code), status=error.status, reason=error.detail
        )
        return result
    result.update(decision="allow", reason="every requirement of the rule is met")
    return result


def _policy_file(policy: Path | None, config: Path | None) -> Path:
    if policy is not None:
        return policy
    configured = load_gateway_settings(config).policy_file
    if configured is None:
        raise typer.BadParameter("give --policy or set policy_file in [gateway]")
    return configured


@app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="Policy file (.toml, .yaml or .yml).")],
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Parse a policy file; print its rules, or the line and reason of the first error."""
    try:
        policy = load_policy(file)
    except AuthgateError as error:
        if json:
            print_json({"ok": False, "error": error.detail, "code": str(error.code)})
            raise typer.Exit(1) from None
        fail(error)
    if json:
        rules = [{"name": r.name, "line": r.line, "path": r.path} for r in policy.rules]
        print_json({"ok": True, "rules": rules})
        return
    console.print(f"[green]ok[/green] {escape(str(file))}: {len(policy.rules)} rules")
    for rule in policy.rules:
        methods = ",".join(sorted(rule.methods)) if rule.methods else "*"
        console.print(
            f"  {escape(rule.name)} (line {rule.line}): {methods} {escape(rule.host or '*')}"
            f"{escape(rule.path)} → {escape('; '.join(_requirements(rule)))}"
        )


@app.command("test")
def explain_command(
    method: Annotated[str, typer.Argument(help="HTTP method, e.g. GET.")],
    url: Annotated[str, typer.Argument(help="Full URL, e.g. https://api.example.com/v1/x.")],
    token: Annotated[
        str | None, typer.Option("--token", "-t", help="Access or service token; '-' = stdin.")
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="Policy file.")] = None,
    config: ConfigOption = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Explain which rule matches METHOD URL and why the token is allowed or denied."""
    if token == "-":
        token = sys.stdin.readline().strip()
    try:
        result = _explain(
            load_policy(_policy_file(policy, config)), method.upper(), url, token, config
        )
    except AuthgateError as error:
        fail(error)
    if json:
        print_json(result)
    else:
        rule = result.get("rule")
        where = f"rule {rule!r} (line {result.get('line')})" if rule else "no rule (default deny)"
        console.print(f"{escape(method.upper())} {escape(url)}: matched {escape(where)}")
        for requirement in result.get("requirements", ()):
            console.print(f"  requires {escape(requirement)}")
        if "principal" in result:
            who = result["principal"]
            console.print(f"  caller {escape(who['subject'])} ({who['kind']})")
        colour = "green" if result["decision"] == "allow" else "red"
        code = f" [{result['code']}]" if result.get("code") else ""
        console.print(
            f"[{colour}]{result['decision'].upper()}[/{colour}]{escape(code)}: "
            f"{escape(result['reason'])}"
        )
    raise typer.Exit(0 if result["decision"] == "allow" else 2)
