"""Verification benchmark (RFC 7515 §5.2 + RFC 7519 §7.2): µs per Okta-shaped token, with ratios.

One run measures, for RS256, ES256, EdDSA and HS256: the ``cryptography`` floor (just
``key.verify`` on already-decoded input), authgate with the verdict cache off ("cold") and on
("cached"), PyJWT, joserfc, authlib and okta-jwt-verifier — all on the same ~1.1 KB token. Each
contender must return the right ``sub`` and refuse two forgeries before it is timed, so no row
can be a no-op. See bench/README.md for what each row means.

Usage: ``python bench/verify.py [--quick] [--cpu-time] [--json | --markdown] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
import jwt as pyjwt
from _common import ALGORITHMS, AUDIENCE, ISSUER, SUBJECT, BenchKey, Timed
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import JWKRegistry

from authgate.jose.claims import validate_claims
from authgate.jose.compact import b64url_decode as strict_b64url_decode
from authgate.jose.compact import (
    check_signature,
    decode_claims,
    decode_compact,
    parse_parts,
    verify_signature,
)
from authgate.jose.json import loads_object
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet, VerificationKey
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import Principal, PrincipalKind, principal_from_claims
from authgate.verifier import IssuerConfig, TokenVerifier

# authlib.jose warns that it is deprecated (in favour of joserfc) but is still what many apps run.
with warnings.catch_warnings(record=True):
    from acachecontrol import AsyncCache  # type: ignore[import-untyped]
    from authlib.jose import JsonWebKey, JsonWebToken  # type: ignore[import-untyped]
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
USER = PrincipalKind.USER
# What each peer is told to check: the same as authgate's issuer config (sub is always read).
REQUIRED_CLAIMS = {
    "iss": {"essential": True, "value": ISSUER},
    "aud": {"essential": True, "value": AUDIENCE},
    "exp": {"essential": True},
    "sub": {"essential": True},
}


@dataclass
class Case:
    """One contender on one token: ``timed`` for the clock, ``check`` (token → sub) for proof."""

    timed: Timed
    check: Callable[[str], str]
    notes: list[str] = field(default_factory=list)
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
    def check(tok: str) -> str:
        key.floor(tok)()  # raises InvalidSignature
        return str(json.loads(common.b64url_decode(tok.split(".")[1]))["sub"])

    notes = ["ECDSA signature pre-converted to DER"] if key.alg == "ES256" else []
    return Case(common.loop(key.floor(token)), check, notes)


def authgate_verifier(key: BenchKey, cache: VerdictCache | None) -> TokenVerifier:
    """The facade as an app configures it: one issuer, its key, audience and algorithm."""
    if key.alg == "HS256":
        vkey = VerificationKey.from_secret(key.public, kid=key.kid)
    else:
        vkey = VerificationKey.from_jwk(key.jwk)
    keys = StaticKeys(KeySet((vkey,)), description="bench")
    issuer = IssuerConfig(ISSUER, keys, audiences=(AUDIENCE,), algorithms=frozenset({key.alg}))
    return TokenVerifier([issuer], verdict_cache=cache)


def authgate_case(key: BenchKey, token: str, *, cached: bool) -> Case:
    cache = VerdictCache() if cached else None
    verifier = authgate_verifier(key, cache)
    case = Case(
        common.loop(partial(verifier.verify, token)), lambda tok: verifier.verify(tok).subject
    )
    if cache is not None:
        case.after = lambda: f"verdict cache: {cache.hits} hits, {cache.misses} misses"
    return case


def pyjwt_case(key: BenchKey, token: str) -> Case:
    def verify(tok: str) -> str:
        claims = pyjwt.decode(
            tok, key.public, algorithms=[key.alg], audience=AUDIENCE, issuer=ISSUER
        )
        return str(claims["sub"])

    return Case(common.loop(partial(verify, token)), verify)


def joserfc_case(key: BenchKey, token: str) -> Case:
    imported = JWKRegistry.import_key(key.jwk)
    registry = joserfc_jwt.JWTClaimsRegistry(**REQUIRED_CLAIMS)  # type: ignore[arg-type]

    def verify(tok: str) -> str:
        decoded = joserfc_jwt.decode(tok, imported, algorithms=[key.alg])
        registry.validate(decoded.claims)
        return str(decoded.claims["sub"])

    return Case(common.loop(partial(verify, token)), verify)


def authlib_case(key: BenchKey, token: str) -> Case:
    imported = JsonWebKey.import_key(key.jwk)
    decoder = JsonWebToken([key.alg])

    def verify(tok: str) -> str:
        claims = decoder.decode(tok, imported, claims_options=REQUIRED_CLAIMS)
        claims.validate()
        return str(claims["sub"])

    return Case(common.loop(partial(verify, token)), verify)


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
    server = common.LocalJSONServer("/oauth2/default/v1/keys", {"keys": [key.jwk]})
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
    refetched = [0]  # JWKS fetches made while the row was being timed

    async def many(n: int) -> None:
        for _ in repeat(None, n):
            await verifier.verify(token)

    def timed(n: int) -> int:
        fetches, start = server.hits, common.clock_ns()
        event_loop.run_until_complete(many(n))
        elapsed = common.clock_ns() - start
        refetched[0] += server.hits - fetches
        return elapsed

    def check(tok: str) -> str:
        event_loop.run_until_complete(verifier.verify(tok))  # returns None when it accepts
        return str(JWTUtils.parse_token(tok)[1]["sub"])

    def after() -> str:
        state = f"REFETCHED {refetched[0]}x while timed" if refetched[0] else "no refetch"
        return f"JWKS from {server.origin}: {state} ({server.hits} fetch(es) in all)"

    def close() -> None:
        event_loop.close()
        server.close()

    notes = ["async: awaited in one event loop; opens an aiohttp session per call"]
    return Case(timed, check, notes, after=after, close=close)


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
def bench_alg(alg: str, *, seconds: float, repeats: int) -> list[Row]:
    """Prove, then time (interleaved), every contender on one fresh token signed with ``alg``."""
    key = common.make_key(alg)
    token = common.sign_token(key, common.okta_access_claims(int(time.time())))
    forgeries = common.tampered(token)
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
            rejected = common.prove(library, case.check, token, SUBJECT, forgeries)
            case.notes.append("rejects forgeries: " + ", ".join(sorted(set(rejected.values()))))
        timers = [c.timed for c in cases.values()]
        samples = common.measure(timers, seconds=seconds, repeats=repeats)
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
            ratio, most = cold / floor, COLD_TARGET[alg]
            found.append(Target(alg, "cold/floor", ratio, f"≤ {most}×", ratio <= most))
        if cached:
            most = CACHED_TARGET_US
            found.append(Target(alg, "cached µs", cached, f"< {most}", cached < most))
        if alg in PYJWT_TARGET and peer and cold:
            ratio, least = peer / cold, PYJWT_TARGET[alg]
            found.append(Target(alg, "PyJWT/cold", ratio, f"≥ {least}", ratio >= least))
    return found


# -- output --------------------------------------------------------------------------------------
def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table(rows: list[Row], *, markdown: bool) -> str:
    head = ("alg", "library", "µs/token", "× floor", "× authgate cold", "spread")
    cells = [
        (r.alg, r.library, _num(r.us, ".2f"), _num(r.x_floor, ".2f"), _num(r.x_cold, ".2f"),
         "" if r.spread is None else f"{r.spread:.1%}")
        for r in rows
    ]  # fmt: skip
    return common.render_table(head, cells, markdown=markdown)


def summary_lines(found: list[Target]) -> list[str]:
    verdicts: dict[str, list[str]] = {}
    for t in found:
        verdict = f"{t.what} {t.value:.2f} (target {t.limit}) {'PASS' if t.passed else 'MISS'}"
        verdicts.setdefault(t.alg, []).append(verdict)
    return [f"{alg:<6} " + "; ".join(parts) for alg, parts in verdicts.items()]


# -- profile ------------------------------------------------------------------------------------
def profile_cold(alg: str, *, seconds: float, repeats: int) -> str:
    """Where one cache-off ``verify`` spends its time: each step timed alone, then cProfile."""
    key = common.make_key(alg)
    token = common.sign_token(key, common.okta_access_claims(int(time.time())))
    cache = VerdictCache()
    verifier, cached = authgate_verifier(key, None), authgate_verifier(key, cache)
    cached.verify(token)
    issuer = verifier.issuers[0]
    jws = decode_compact(token)
    payload, keys = token.split(".")[1].encode(), issuer.keys.get(key.kid)
    header, raw_payload, signing_input, signature = parse_parts(token)
    algs = issuer.algorithms

    def parse() -> object:  # what TokenVerifier runs: no copies, no CompactJWS
        return decode_claims(parse_parts(token)[1])

    steps: dict[str, Callable[[], object]] = {
        "verify, cache off (whole)": partial(verifier.verify, token),
        "parse_parts + decode_claims": parse,
        "  b64url_decode(payload)": partial(strict_b64url_decode, payload),
        "  loads_object(payload JSON)": partial(loads_object, raw_payload),
        "  decode_compact (public API)": partial(decode_compact, token),
        "check_signature (with crypto)": partial(
            check_signature, header, signing_input, signature, keys, algs
        ),
        "  verify_signature (public API)": partial(verify_signature, jws, keys, algs),
        "  floor: key.verify alone": key.floor(token),
        "validate_claims": partial(validate_claims, jws.payload, issuer.policy, time.time()),
        # from_json=True, as TokenVerifier calls it (fresh orjson dict: no copy, C type check).
        "principal_from_claims": partial(
            principal_from_claims, dict(jws.payload), issuer.claims, from_json=True
        ),
        "  Principal(...) alone, 17 fields": partial(Principal, subject=SUBJECT, kind=USER),
        "verify, cache on (hit, whole)": partial(cached.verify, token),
        "  VerdictCache.key (sha256)": partial(VerdictCache.key, token),
        "  VerdictCache.get": partial(cache.get, VerdictCache.key(token)),
    }
    timers = [common.loop(op) for op in steps.values()]
    samples = common.measure(timers, seconds=seconds, repeats=repeats)
    us = {name: sample.best_us for name, sample in zip(steps, samples, strict=True)}
    whole = us["verify, cache off (whole)"]
    steps_sum = sum(us[name] for name in steps if not name.startswith(("  ", "verify, ")))
    us["facade glue (whole − the 4 steps)"] = whole - steps_sum
    cells = [(alg, name, f"{value:.2f}", f"{value / whole:.1%}") for name, value in us.items()]
    lines = [common.render_table(("alg", "step", "µs", "of cold"), cells, markdown=False), ""]
    loops = max(1000, int(0.2e6 / whole))
    lines.append(
        f"cProfile of {loops} cold verifies ({alg}): share of own time, µs/token (inflated)"
    )
    lines += common.profile_top(common.loop(steps["verify, cache off (whole)"]), loops, top=14)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 0.1 s per row, not 0.5 s")
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per row")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    parser.add_argument("--alg", action="append", choices=ALGORITHMS, help="repeatable")
    parser.add_argument("--cpu-time", action="store_true", help="thread CPU time, for busy hosts")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--markdown", action="store_true", help="a table for README.md")
    parser.add_argument("--profile", action="store_true", help="where authgate cold spends time")
    args = parser.parse_args(argv)
    seconds = 0.1 if args.quick else args.seconds
    algs = args.alg or list(ALGORITHMS)
    cpu = common.pin_to_one_cpu()
    if args.cpu_time:
        common.use_cpu_clock()
    if args.profile:
        print("\n\n".join(profile_cold(alg, seconds=seconds, repeats=args.repeats) for alg in algs))
        return 0
    rows = [row for alg in algs for row in bench_alg(alg, seconds=seconds, repeats=args.repeats)]
    found = targets(rows)
    env = common.environment(cpu, seconds=seconds, repeats=args.repeats)
    if args.json:
        report = {"environment": env, "rows": rows, "targets": found}
        print(json.dumps(report, indent=2, ensure_ascii=False, default=asdict))
        return 0
    sizes = ", ".join(f"{row.alg} {row.token_bytes} B" for row in rows if row.library == FLOOR)
    print(
        f"µs per token by {env['clock']}, best of {args.repeats} (spread = median over best); "
        f"CPU pinned: {'no' if cpu is None else cpu}; load {env['load_average_1min']:.1f} on "
        f"{env['cpus']} CPUs; Okta-shaped token: {sizes}"
    )
    print(table(rows, markdown=args.markdown))
    print()
    print("\n".join(("- " if args.markdown else "") + line for line in summary_lines(found)))
    if not args.markdown:
        print("\n" + "\n".join(f"{r.alg:<6} {r.library}: " + "; ".join(r.notes) for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
