"""Benchmark plumbing shared by ``bench/*.py``: a calibrated timer and signed Okta-shaped tokens.

Timing follows the usual micro-benchmark hygiene: one CPU (``os.sched_setaffinity`` where the
OS has it) so the scheduler does not migrate the process mid-row, ``gc`` off while a row runs
so a collection never lands inside one sample, the loop count calibrated so every repeat lasts
long enough for ``perf_counter_ns`` to be precise, and the best of several repeats, because
noise on a shared machine only ever adds time.

Tokens are signed here with ``cryptography`` directly rather than through authgate, so the
benchmark never measures a token its own code produced (and does not depend on ``tests/``).
"""

from __future__ import annotations

import base64
import cProfile
import gc
import hmac
import json
import os
import platform
import pstats
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from itertools import repeat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ISSUER = "https://dev-123.okta.com/oauth2/default"
AUDIENCE = "api://default"
SUBJECT = "alice@example.com"
ALGORITHMS = ("RS256", "ES256", "EdDSA", "HS256")

Timed = Callable[[int], int]
"""``timed(n)`` runs the operation ``n`` times and returns the elapsed nanoseconds."""


# -- timing --------------------------------------------------------------------------------------
def pin_to_one_cpu() -> int | None:
    """Pin this process to the allowed CPU that was idlest over the last 0.2 s.

    On a shared host other jobs pin themselves too; landing on their CPU would triple every
    figure. Ties (or no ``/proc/stat``) go to the highest-numbered CPU: CPU 0 takes most IRQs.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    before = _idle_ticks()
    time.sleep(0.2)
    after = _idle_ticks()
    cpu = max(allowed, key=lambda n: (after.get(n, 0) - before.get(n, 0), n))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _idle_ticks() -> dict[int, int]:
    """Idle + iowait ticks per CPU from ``/proc/stat`` (empty where there is none)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return {}
    ticks = {}
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks[int(name[3:])] = int(fields[3]) + int(fields[4])
    return ticks


_clock = [time.perf_counter_ns]


def use_cpu_clock() -> None:
    """Time with this thread's CPU time instead of ``perf_counter_ns``.

    On a machine other work keeps busy, wall time counts the slices the scheduler gave to
    other processes; CPU time does not, so figures stay comparable between runs. (It still
    cannot undo the cache and frequency effects a neighbour has.)
    """
    _clock[0] = time.thread_time_ns


def clock_ns() -> int:
    """The benchmark clock: ``perf_counter_ns`` unless :func:`use_cpu_clock` was called."""
    return _clock[0]()


def loop(op: Callable[[], object]) -> Timed:
    """A :data:`Timed` over a zero-argument callable; ``repeat`` keeps loop overhead ~10 ns."""

    def timed(n: int) -> int:
        start = clock_ns()
        for _ in repeat(None, n):
            op()
        return clock_ns() - start

    return timed


@dataclass(frozen=True)
class Sample:
    """One row's result: best and median µs per call over ``repeats`` runs of ``loops`` calls;
    ``spread`` is how far the median sits above the best (0.05 = 5 %), a noise indicator."""

    best_us: float
    median_us: float
    loops: int
    repeats: int

    @property
    def spread(self) -> float:
        return self.median_us / self.best_us - 1.0


def measure(timers: list[Timed], *, seconds: float, repeats: int) -> list[Sample]:
    """Time each of ``timers`` for about ``seconds`` in all, their repeats interleaved.

    Round-robin repeats mean every contender sees the same background load, so ratios between
    rows of one run stay meaningful on a busy machine even when absolute figures drift.
    """
    per_repeat_ns = seconds * 1e9 / repeats
    gc_was_enabled, _ = gc.isenabled(), gc.collect()
    gc.disable()
    try:
        loops = [_calibrate(timed, per_repeat_ns) for timed in timers]
        runs: list[list[float]] = [[] for _ in timers]
        for _ in range(repeats):
            for timed, n, out in zip(timers, loops, runs, strict=True):
                out.append(timed(n) / n / 1000)
    finally:
        if gc_was_enabled:
            gc.enable()
    samples = zip(loops, runs, strict=True)
    return [Sample(min(out), statistics.median(out), n, repeats) for n, out in samples]


def _calibrate(timed: Timed, per_repeat_ns: float) -> int:
    timed(3)  # warm-up: first calls fill caches (parsed headers, key verifiers, JWKS)
    loops, elapsed = 1, timed(1)
    while elapsed < per_repeat_ns / 10 and loops < 1 << 24:
        loops *= 4
        elapsed = timed(loops)
    return max(1, int(loops * per_repeat_ns / max(elapsed, 1)))


def profile_top(timed: Timed, loops: int, *, top: int) -> list[str]:
    """cProfile ``timed(loops)``; per function: share of all own time, own and cumulative µs/op.

    cProfile charges every Python call a fixed cost (and uses the wall clock), so its µs are
    inflated, small functions most; read it for *where* time goes, and :func:`measure` on a
    step for *how much*.
    """
    profiler = cProfile.Profile()
    profiler.runcall(timed, loops)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.items():
        where = f"{Path(filename).name}:{line}({name})" if line else name
        rows.append((own / loops * 1e6, cumulative / loops * 1e6, calls / loops, where))
    rows.sort(reverse=True)
    total = sum(row[0] for row in rows)
    return [
        f"  {o / total:6.1%}  {o:7.2f} own {c:7.2f} cum {n:5.1f}x  {w}" for o, c, n, w in rows[:top]
    ]


def environment(cpu: int | None, *, seconds: float, repeats: int) -> dict[str, Any]:
    """What a reader needs to compare two runs: versions, pinning and the timing method."""
    libs = ("authgate", "cryptography", "pyjwt", "joserfc", "authlib", "okta-jwt-verifier")
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pinned_cpu": cpu,
        "seconds_per_row": seconds,
        "repeats": repeats,
        "clock": "thread CPU time" if _clock[0] is time.thread_time_ns else "perf_counter_ns",
        "load_average_1min": os.getloadavg()[0],
        "statistic": "best of the repeats, interleaved across rows; median also given",
        "versions": {name: version(name) for name in libs},
    }


def render_table(head: tuple[str, ...], cells: Sequence[tuple[str, ...]], *, markdown: bool) -> str:
    """Text (first two columns left-aligned, a blank line between groups) or a Markdown table."""
    if markdown:
        rule = "|" + "|".join("---" if i < 2 else "--:" for i in range(len(head))) + "|"
        return "\n".join(["| " + " | ".join(head) + " |", rule] +
                         ["| " + " | ".join(c) + " |" for c in cells])  # fmt: skip
    widths = [max(len(row[i]) for row in [head, *cells]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    lines, group = [fmt.format(*head)], cells[0][0] if cells else ""
    for row in cells:
        if row[0] != group:
            lines.append("")
            group = row[0]
        lines.append(fmt.format(*row))
    return "\n".join(lines)


def prove(
    name: str, check: Callable[[str], str], token: str, subject: str, forgeries: dict[str, str]
) -> dict[str, str]:
    """Refuse to time a verifier that returns the wrong subject or accepts a forgery.

    Returns how each forgery was refused (exception type, plus ``code`` when it has one).
    """
    got = check(token)
    if got != subject:
        raise SystemExit(f"{name}: verified sub is {got!r}, expected {subject!r}")
    refused: dict[str, str] = {}
    for what, forged in forgeries.items():
        try:
            check(forged)
        except Exception as exc:  # any refusal will do; which one is reported
            code = getattr(exc, "code", None)
            refused[what] = type(exc).__name__ + (f"({code})" if code else "")
        else:
            raise SystemExit(f"{name}: ACCEPTED a forged token ({what}); not timing it")
    return refused


# -- keys and tokens -----------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(value: int, size: int) -> str:
    return b64url(value.to_bytes(size, "big"))


@dataclass(frozen=True)
class BenchKey:
    """One signing key per algorithm: the private half, public JWK, and loaded public key."""

    alg: str
    kid: str
    private: Any
    public: Any  # cryptography public key, or the HMAC secret (bytes) for HS256
    jwk: dict[str, Any]

    def sign(self, message: bytes) -> bytes:
        """The JWS signature (RFC 7518 §3): raw r‖s for ECDSA, not DER."""
        if self.alg == "RS256":
            return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[no-any-return]
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.alg == "EdDSA":
            return self.private.sign(message)  # type: ignore[no-any-return]
        return hmac.digest(self.private, message, "sha256")

    def floor(self, token: str) -> Callable[[], object]:
        """The cost floor: ``cryptography`` verifying ``token``'s signature, all else done ahead.

        Signing input and signature are decoded beforehand (and an ECDSA r‖s turned into the
        DER ``cryptography`` wants); padding and hash objects are built once. Raises
        ``InvalidSignature`` when called on a forged token.
        """
        head, payload, sig = token.split(".")
        data, raw = f"{head}.{payload}".encode(), b64url_decode(sig)
        if self.alg == "RS256":
            return partial(self.public.verify, raw, data, padding.PKCS1v15(), hashes.SHA256())
        if self.alg == "ES256":
            der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
            return partial(self.public.verify, der, data, ec.ECDSA(hashes.SHA256()))
        if self.alg == "EdDSA":
            return partial(self.public.verify, raw, data)
        secret = self.public

        def verify_hmac() -> None:
            mac = crypto_hmac.HMAC(secret, hashes.SHA256())
            mac.update(data)
            mac.verify(raw)

        return verify_hmac


def make_key(alg: str) -> BenchKey:
    """A fresh key for ``alg``: RSA-2048, P-256, Ed25519 or a 32-byte HMAC secret."""
    kid = f"bench-{alg.lower()}"
    if alg == "RS256":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        nums = private.public_key().public_numbers()
        jwk = {"kty": "RSA", "n": _uint(nums.n, 256), "e": _uint(nums.e, 3)}
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        point = private.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _uint(point.x, 32), "y": _uint(point.y, 32)}
    elif alg == "EdDSA":
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    elif alg == "HS256":
        private = secrets.token_bytes(32)
        jwk = {"kty": "oct", "k": b64url(private)}
    else:
        raise ValueError(f"no bench key for {alg}")
    public = private if alg == "HS256" else private.public_key()
    return BenchKey(alg, kid, private, public, {**jwk, "kid": kid, "alg": alg, "use": "sig"})


def okta_access_claims(now: int) -> dict[str, Any]:
    """An Okta custom-authorization-server user access token's claims (about 1.1 KB signed)."""
    return {
        "ver": 1,
        "jti": "AT." + b64url(secrets.token_bytes(32)),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "cid": "0oa9bench0client0id1",
        "uid": "00u9bench0user0id123",
        "scp": ["openid", "profile", "email", "api:read", "api:write"],
        "sub": SUBJECT,
        "groups": [f"authgate-group-{n:02d}" for n in range(10)],
    }


def sign_token(key: BenchKey, claims: dict[str, Any]) -> str:
    """A compact JWS (RFC 7515 §7.1) with ``alg``, ``kid`` and ``typ`` in the header."""
    header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    raw = [json.dumps(part, separators=(",", ":")).encode() for part in (header, claims)]
    signing_input = f"{b64url(raw[0])}.{b64url(raw[1])}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def tampered(token: str) -> dict[str, str]:
    """Two forgeries every verifier must refuse: a changed claim, and one flipped signature bit."""
    head, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = "mallory@example.com"
    forged_payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    raw_signature = bytearray(b64url_decode(signature))
    raw_signature[len(raw_signature) // 2] ^= 0x01
    return {
        "changed sub": f"{head}.{forged_payload}.{signature}",
        "flipped signature bit": f"{head}.{payload}.{b64url(bytes(raw_signature))}",
    }


# -- a local JSON endpoint -----------------------------------------------------------------------
class LocalJSONServer:
    """Serve one JSON document at ``path`` on 127.0.0.1 (a free port) and count the fetches.

    Stands in for an IdP's JWKS endpoint, so peers that insist on fetching keys themselves do
    it over a real socket, and the count shows whether their cache held during a row.
    """

    def __init__(self, path: str, document: object, *, max_age: int = 86400) -> None:
        body = json.dumps(document).encode()
        owner = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                found = self.path == path
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"max-age={max_age}")
                self.send_header("Content-Length", str(len(body) if found else 0))
                self.end_headers()
                if found:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per fetch would interleave with the table

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
