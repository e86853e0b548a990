"""Verification benchmark (RFC 7515 §5.2 + RFC 7519 §7.2): µs per Okta-shaped token, with ratios.

One run measures, for RS256, ES256, EdDSA and HS256: the ``cryptography`` floor (just
``key.verify`` on already-decoded input), authgate with the verdict cache off ("cold") and on
("cached"), PyJWT, joserfc, authlib and okta-jwt-verifier — all on the same ~1.1 KB token. Each
contender must return the right ``sub`` and refuse two forgeries before it is timed, so no row
can be a no-op. See bench/README.md for what each row means.

Usage: ``python bench/verify.py [--quick] [--json | --markdown] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib.metadata import version
from itertools import repeat
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jwt as pyjwt
from _common import (
    ALGORITHMS,
    AUDIENCE,
    ISSUER,
    SUBJECT,
    BenchKey,
    LocalJSONServer,
    Timed,
    b64url_decode,
    loop,
    make_key,
    measure,
    okta_access_claims,
    pin_to_one_cpu,
    sign_token,
    tampered,
)
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import JWKRegistry

from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet, VerificationKey
from authgate.jose.verdict_cache import VerdictCache
from authgate.verifier import IssuerConfig, TokenVerifier

# authlib.jose warns that it is deprecated (in favour of joserfc) but is still what many apps run.
with warnings.catch_warnings(record=True):
    from acachecontrol import AsyncCache
    from authlib.jose import JsonWebKey, JsonWebToken
    from okta_jwt_verifier import AccessTokenVerifier
    from okta_jwt_verifier.jwt_utils import JWTUtils
    from okta_jwt_verifier.request_executor import RequestExecutor

# joserfc warns on every "EdDSA" decode (RFC 9864 prefers "Ed25519"); Okta-style issuers still
# send "EdDSA", so that is what is measured, without a screenful of warnings.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", module="joserfc")

COLD_TARGET = {"RS256": 1.5, "ES256": 1.3, "EdDSA": 1.1, "HS256": 5.0}  # × floor, at most
CACHED_TARGET_US = 2.0
PYJWT_TARGET = {"RS256": 2.5}  # PyJWT µs / authgate cold µs, at least
FLOOR = "floor (cryptography)"
COLD, CACHED = "authgate cold", "authgate cached"
PEERS = ("PyJWT", "joserfc", "authlib", "okta-jwt-verifier")


@dataclass
class Case:
    """One contender on one token: ``timed`` for the clock, ``check`` (token → sub) for proof."""

    timed: Timed
    check: Callable[[str], str]
    notes: list[str] = field(default_factory=list)
    mark: Callable[[], None] = lambda: None  # just before timing
    after: Callable[[], str | None] = lambda: None  # a note once the row has run
    close: Callable[[], None] = lambda: None


@dataclass
class Row:
    alg: str
    library: str
    us: float | None  # best of the repeats; None = the library lacks this algorithm (n/a)
    median_us: float | None = None
    spread: float | None = None
    loops: int = 0
    token_bytes: int = 0
    x_floor: float | None = None
    x_cold: float | None = None
    notes: list[str] = field(default_factory=list)


# -- contenders ----------------------------------------------------------------------------------
def floor_case(key: BenchKey, token: str) -> Case:
    """``key.verify`` alone: signing input, signature and public key already decoded."""

    def prepared(tok: str) -> Callable[[], object]:
        head, payload, sig = tok.split(".")
        data, raw = f"{head}.{payload}".encode(), b64url_decode(sig)
        if key.alg == "RS256":
            return partial(key.public.verify, raw, data, padding.PKCS1v15(), hashes.SHA256())
        if key.alg == "ES256":
            der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
            return partial(key.public.verify, der, data, ec.ECDSA(hashes.SHA256()))
        if key.alg == "EdDSA":
            return partial(key.public.verify, raw, data)

        def verify_hmac() -> None:
            mac = crypto_hmac.HMAC(key.public, hashes.SHA256())
            mac.update(data)
            mac.verify(raw)

        return verify_hmac

    def check(tok: str) -> str:
        prepared(tok)()
        return str(json.loads(b64url_decode(tok.split(".")[1]))["sub"])

    notes = ["ECDSA signature pre-converted to DER"] if key.alg == "ES256" else []
    return Case(loop(prepared(token)), check, notes)


def authgate_case(key: BenchKey, token: str, *, cached: bool) -> Case:
    if key.alg == "HS256":
        vkey = VerificationKey.from_secret(key.public, kid=key.kid)
    else:
        vkey = VerificationKey.from_jwk(key.jwk)
    issuer = IssuerConfig(
        ISSUER,
        StaticKeys(KeySet((vkey,)), description="bench"),
        audiences=(AUDIENCE,),
        algorithms=frozenset({key.alg}),
    )
    cache = VerdictCache() if cached else None
    verifier = TokenVerifier([issuer], verdict_cache=cache)
    case = Case(loop(partial(verifier.verify, token)), lambda tok: verifier.verify(tok).subject)
    if cache is not None:
        case.after = lambda: f"verdict cache: {cache.hits} hits, {cache.misses} misses"
    return case


def pyjwt_case(key: BenchKey, token: str) -> Case:
    options = {"algorithms": [key.alg], "audience": AUDIENCE, "issuer": ISSUER}

    def verify(tok: str) -> str:
        return str(pyjwt.decode(tok, key.public, **options)["sub"])

    return Case(loop(partial(verify, token)), verify)


def joserfc_case(key: BenchKey, token: str) -> Case:
    imported = JWKRegistry.import_key(key.jwk)
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
        sub={"essential": True},
    )

    def verify(tok: str) -> str:
        decoded = joserfc_jwt.decode(tok, imported, algorithms=[key.alg])
        registry.validate(decoded.claims)
        return str(decoded.claims["sub"])

    return Case(loop(partial(verify, token)), verify)


def authlib_case(key: BenchKey, token: str) -> Case:
    imported = JsonWebKey.import_key(key.jwk)
    decoder = JsonWebToken([key.alg])
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": AUDIENCE},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }

    def verify(tok: str) -> str:
        claims = decoder.decode(tok, imported, claims_options=options)
        claims.validate()
        return str(claims["sub"])

    return Case(loop(partial(verify, token)), verify)


def okta_case(key: BenchKey, token: str) -> Case | None:
    """okta-jwt-verifier only does RS256 and only fetches keys itself, from ``{issuer}/v1/keys``.

    Its config check demands an https issuer, and the token's ``iss`` must equal it, so the
    issuer stays the Okta URL and a ``request_executor`` subclass (a documented constructor
    argument) sends the JWKS GET to a local server instead. The JWKS is served with
    ``max-age=86400``, which its acachecontrol cache honours; the server's hit count shows
    whether it refetched while the row was timed.
    """
    if key.alg != "RS256":
        return None
    server = LocalJSONServer("/oauth2/default/v1/keys", {"keys": [key.jwk]})
    local_issuer = server.origin + "/oauth2/default"

    class LocalIssuerExecutor(RequestExecutor):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            # A cache of our own: the library's default AsyncCache() is shared process-wide.
            super().__init__(cache_controller=AsyncCache(), **kwargs)

        def get(self, uri: str, **params: Any) -> Any:
            return super().get(uri.replace(ISSUER, local_issuer), **params)

    verifier = AccessTokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, request_executor=LocalIssuerExecutor
    )
    event_loop = asyncio.new_event_loop()
    baseline = [0]

    async def many(n: int) -> None:
        for _ in repeat(None, n):
            await verifier.verify(token)

    def timed(n: int) -> int:
        start = time.perf_counter_ns()
        event_loop.run_until_complete(many(n))
        return time.perf_counter_ns() - start

    def check(tok: str) -> str:
        event_loop.run_until_complete(verifier.verify(tok))  # returns None when it accepts
        return str(JWTUtils.parse_token(tok)[1]["sub"])

    def mark() -> None:
        baseline[0] = server.hits

    def after() -> str:
        during = server.hits - baseline[0]
        state = f"REFETCHED {during}x while timed" if during else "cached, no refetch while timed"
        return f"JWKS from {server.origin}: {state} ({server.hits} fetch(es) in all)"

    def close() -> None:
        event_loop.close()
        server.close()

    notes = ["async: awaited in one event loop; opens an aiohttp session per call"]
    return Case(timed, check, notes, mark=mark, after=after, close=close)


CONTENDERS: tuple[tuple[str, Callable[[BenchKey, str], Case | None]], ...] = (
    (FLOOR, floor_case),
    (COLD, partial(authgate_case, cached=False)),
    (CACHED, partial(authgate_case, cached=True)),
    ("PyJWT", pyjwt_case),
    ("joserfc", joserfc_case),
    ("authlib", authlib_case),
    ("okta-jwt-verifier", okta_case),
)


# -- running -------------------------------------------------------------------------------------
def prove(library: str, case: Case, token: str, forgeries: dict[str, str]) -> dict[str, str]:
    """Refuse to time a contender that returns the wrong ``sub`` or accepts a forgery."""
    got = case.check(token)
    if got != SUBJECT:
        raise SystemExit(f"{library}: verified sub is {got!r}, expected {SUBJECT!r}")
    rejected: dict[str, str] = {}
    for what, forged in forgeries.items():
        try:
            case.check(forged)
        except Exception as exc:
            code = getattr(exc, "code", None)
            rejected[what] = type(exc).__name__ + (f"({code})" if code else "")
        else:
            raise SystemExit(f"{library}: ACCEPTED a forged token ({what}); not timing it")
    return rejected


def bench_alg(alg: str, *, seconds: float, repeats: int) -> list[Row]:
    """Prove, then time (interleaved), every contender on one fresh token signed with ``alg``."""
    key = make_key(alg)
    token = sign_token(key, okta_access_claims(int(time.time())))
    forgeries = tampered(token)
    cases: dict[str, Case] = {}
    rows: dict[str, Row] = {}
    try:
        for library, factory in CONTENDERS:
            case = factory(key, token)
            rows[library] = Row(alg, library, None, token_bytes=len(token))
            if case is None:
                rows[library].notes.append(f"no {alg}")
                continue
            cases[library] = case
            rejected = prove(library, case, token, forgeries)
            case.notes.append("rejects forgeries: " + ", ".join(sorted(set(rejected.values()))))
        for case in cases.values():
            case.mark()
        samples = measure([c.timed for c in cases.values()], seconds=seconds, repeats=repeats)
        for (library, case), sample in zip(cases.items(), samples, strict=True):
            note = case.after()
            row = rows[library]
            row.us, row.median_us, row.spread = sample.best_us, sample.median_us, sample.spread
            row.loops, row.notes = sample.loops, [*case.notes, *([note] if note else [])]
    finally:
        for case in cases.values():
            case.close()
    floor, cold = rows[FLOOR].us, rows[COLD].us
    for row in rows.values():
        if row.us is not None and floor and cold:
            row.x_floor, row.x_cold = row.us / floor, row.us / cold
    return list(rows.values())


@dataclass
class Target:
    alg: str
    what: str
    value: float
    limit: str
    passed: bool


def targets(rows: list[Row]) -> list[Target]:
    """The issue's targets, per algorithm, from the measured rows."""
    found: list[Target] = []
    for alg in dict.fromkeys(row.alg for row in rows):
        us = {row.library: row.us for row in rows if row.alg == alg}
        floor, cold, cached, peer = us.get(FLOOR), us.get(COLD), us.get(CACHED), us.get("PyJWT")
        if floor and cold:
            ratio = cold / floor
            limit = COLD_TARGET[alg]
            found.append(Target(alg, "cold/floor", ratio, f"≤ {limit}×", ratio <= limit))
        if cached:
            found.append(
                Target(alg, "cached µs", cached, f"< {CACHED_TARGET_US}", cached < CACHED_TARGET_US)
            )
        if alg in PYJWT_TARGET and peer and cold:
            ratio, limit = peer / cold, PYJWT_TARGET[alg]
            found.append(Target(alg, "PyJWT/cold", ratio, f"≥ {limit}", ratio >= limit))
    return found


# -- output --------------------------------------------------------------------------------------
def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table_lines(rows: list[Row], *, markdown: bool) -> list[str]:
    head = ("alg", "library", "µs/token", "× floor", "× authgate cold", "spread")
    cells = [
        (r.alg, r.library, _num(r.us, ".2f"), _num(r.x_floor, ".2f"), _num(r.x_cold, ".2f"),
         "" if r.spread is None else f"{r.spread:.1%}")
        for r in rows
    ]  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|---|--:|--:|--:|--:|"]
        return lines + ["| " + " | ".join(c) + " |" for c in cells]
    widths = [max(len(str(row[i])) for row in [head, *cells]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    lines, last_alg = [fmt.format(*head)], None
    for row in cells:
        if last_alg is not None and row[0] != last_alg:
            lines.append("")
        lines.append(fmt.format(*row))
        last_alg = row[0]
    return lines


def summary_lines(found: list[Target]) -> list[str]:
    lines = []
    for alg in dict.fromkeys(t.alg for t in found):
        parts = [
            f"{t.what} {t.value:.2f} (target {t.limit}) {'PASS' if t.passed else 'MISS'}"
            for t in found
            if t.alg == alg
        ]
        lines.append(f"{alg:<6} " + "; ".join(parts))
    return lines


def environment(cpu: int | None, seconds: float, repeats: int) -> dict[str, Any]:
    libs = ("authgate", "cryptography", "pyjwt", "joserfc", "authlib", "okta-jwt-verifier")
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "pinned_cpu": cpu,
        "seconds_per_row": seconds,
        "repeats": repeats,
        "statistic": "best of repeats (median in JSON and as spread)",
        "versions": {name: version(name) for name in libs},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 0.1 s per row, not 0.5 s")
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per row")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    parser.add_argument("--alg", action="append", choices=ALGORITHMS, help="repeatable")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--markdown", action="store_true", help="a table for README.md")
    parser.add_argument("--profile", action="store_true", help="where authgate cold spends time")
    args = parser.parse_args(argv)
    seconds = 0.1 if args.quick else args.seconds
    algs = args.alg or list(ALGORITHMS)
    cpu = pin_to_one_cpu()
    rows = [row for alg in algs for row in bench_alg(alg, seconds=seconds, repeats=args.repeats)]
    found = targets(rows)
    if args.json:
        report = {
            "environment": environment(cpu, seconds, args.repeats),
            "rows": [asdict(r) for r in rows],
            "targets": [asdict(t) for t in found],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    env = environment(cpu, seconds, args.repeats)
    sizes = {row.alg: row.token_bytes for row in rows}
    print(
        f"µs per token, best of {args.repeats} (spread = median over best); Python "
        f"{env['python']}, cryptography {env['versions']['cryptography']}, "
        f"CPU pinned: {cpu if cpu is not None else 'no'}; Okta-shaped token of "
        + ", ".join(f"{alg} {size} B" for alg, size in sizes.items())
    )
    print("\n".join(table_lines(rows, markdown=args.markdown)))
    print()
    print("\n".join(summary_lines(found)))
    if not args.markdown:
        print()
        for row in rows:
            if row.notes:
                print(f"{row.alg:<6} {row.library}: " + "; ".join(row.notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
