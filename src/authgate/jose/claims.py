"""JWT claim validation (RFC 7519 §4.1) for OAuth access tokens (RFC 9068 §4), clock injected.

Runs after the signature check. Every failure names the claim and the values involved so the
message says what to fix (wrong issuer, audience, clock skew), with claim values shortened and
quoted so a hostile token cannot inject text into a log line. ``now`` is passed in — tests move
time instead of sleeping. An OIDC ID token is refused by default: it proves a login to a client,
it does not authorise calls to an API (RFC 9068 §1, OpenID Connect Core §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from authgate.errors import AuthError, ConfigError, ErrorCode

__all__ = ["MAX_TIMESTAMP", "ClaimsPolicy", "looks_like_id_token", "validate_claims"]

MAX_TIMESTAMP = 32_503_680_000  # 3000-01-01T00:00:00Z: later values are garbage, not dates
_ACCESS_TOKEN_MARKERS = ("scp", "scope", "client_id", "cid")
_ID_TOKEN_HINT = "this looks like an OIDC ID token; send the access token instead"


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """What one issuer's tokens must claim; ``audiences=()`` skips the audience check."""

    issuer: str
    audiences: tuple[str, ...] = ()
    leeway: float = 60.0
    max_age: float | None = None
    require_exp: bool = True
    accept_id_tokens: bool = False
    required_claims: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ConfigError("issuer", "must be the exact issuer URL of the tokens")
        if not 0 <= self.leeway <= 600:
            raise ConfigError("leeway", f"must be between 0 and 600 seconds, got {self.leeway}")
        if self.max_age is not None and self.max_age <= 0:
            raise ConfigError("max_age", f"must be positive, got {self.max_age}")


def validate_claims(claims: Mapping[str, Any], policy: ClaimsPolicy, now: float) -> None:
    """Raise an :class:`AuthError` naming the first claim that fails ``policy`` at time ``now``."""
    # Each check is a cheap inline test first; the helpers only run to explain a failure.
    get = claims.get
    if get("iss") != policy.issuer:
        _refuse_issuer(claims, policy.issuer)
    if not policy.accept_id_tokens and looks_like_id_token(claims):
        raise AuthError(ErrorCode.ID_TOKEN_REJECTED, _ID_TOKEN_HINT)
    aud = get("aud")
    if policy.audiences:
        if type(aud) is not str or aud not in policy.audiences:
            _check_audience(aud, policy.audiences)
    elif aud is not None and type(aud) is not str:
        # Not matched, but still typed (RFC 7519 §4.1.3): a malformed aud never passes.
        _check_audience(aud, None)
    # A time that is an int/float in range is taken as is; anything else (absent, wrong type,
    # out of range) goes through _timestamp, which decides or raises as before. Checks keep
    # their order (exp, nbf, iat), so the first failure reported is unchanged.
    leeway = policy.leeway
    exp: Any = get("exp")
    if not ((type(exp) is int or type(exp) is float) and 0 <= exp <= MAX_TIMESTAMP):
        exp = _timestamp(claims, "exp")
    if exp is None:
        if policy.require_exp:
            raise AuthError(ErrorCode.MISSING_CLAIM, "token has no exp claim", claim="exp")
    elif now >= exp + leeway:
        raise AuthError(
            ErrorCode.TOKEN_EXPIRED,
            f"token expired {_duration(now - exp)} ago (leeway {_duration(leeway)}); "
            "get a new token",
            claim="exp",
        )
    nbf: Any = get("nbf")
    if nbf is not None or "nbf" in claims:
        nbf = _timestamp(claims, "nbf")
    if nbf is not None and nbf > now + leeway:
        raise AuthError(
            ErrorCode.TOKEN_NOT_YET_VALID,
            f"token is not valid for another {_duration(nbf - now)} (nbf; leeway "
            f"{_duration(leeway)}): check clock skew",
            claim="nbf",
        )
    iat: Any = get("iat")
    if not ((type(iat) is int or type(iat) is float) and 0 <= iat <= MAX_TIMESTAMP):
        iat = _timestamp(claims, "iat")
    if iat is not None and iat > now + leeway:
        raise AuthError(
            ErrorCode.TOKEN_NOT_YET_VALID,
            f"token issued in the future ({_duration(iat - now)} ahead, leeway "
            f"{_duration(leeway)}): check clock skew",
            claim="iat",
        )
    if policy.max_age is not None:
        if iat is None:
            raise AuthError(
                ErrorCode.MISSING_CLAIM, "token has no iat claim; max_age needs it", claim="iat"
            )
        if now - iat > policy.max_age + leeway:
            raise AuthError(
                ErrorCode.TOKEN_TOO_OLD,
                f"token was issued {_duration(now - iat)} ago; the maximum age is "
                f"{_duration(policy.max_age)} (leeway {_duration(leeway)})",
                claim="iat",
            )
    sub, jti = get("sub"), get("jti")
    if (sub is not None and type(sub) is not str) or (jti is not None and type(jti) is not str):
        name = "sub" if sub is not None and type(sub) is not str else "jti"
        raise AuthError(ErrorCode.INVALID_CLAIM, f"token {name} claim must be a string", claim=name)
    for name in policy.required_claims:
        if name not in claims:
            raise AuthError(
                ErrorCode.MISSING_CLAIM, f"token has no {name} claim (required)", claim=name
            )


def looks_like_id_token(claims: Mapping[str, Any]) -> bool:
    """True for claims only an OIDC ID token carries (Okta: nonce, at_hash, amr without scp)."""
    if "nonce" in claims or "at_hash" in claims or "c_hash" in claims:
        return True
    if "amr" in claims or "auth_time" in claims:
        return not any(name in claims for name in _ACCESS_TOKEN_MARKERS)
    return False


def _refuse_issuer(claims: Mapping[str, Any], expected: str) -> NoReturn:
    iss = claims.get("iss")
    if iss is None:
        raise AuthError(
            ErrorCode.MISSING_CLAIM, f"token has no iss claim; expected {expected!r}", claim="iss"
        )
    # Exact match only: prefix, suffix, case or trailing-slash variants are other issuers.
    raise AuthError(
        ErrorCode.INVALID_ISSUER,
        f"token issuer {_show(iss)} is not the expected issuer {expected!r}",
        claim="iss",
    )


def _check_audience(aud: Any, accepted: tuple[str, ...] | None) -> None:
    if type(aud) is str:
        audiences = [aud]
    elif type(aud) is list and aud and all(type(a) is str for a in aud):
        audiences = aud
    else:
        found = "no aud claim" if aud is None else f"aud {_show(aud)}"
        raise AuthError(
            ErrorCode.INVALID_AUDIENCE,
            f"token has {found}; aud must be a string or a non-empty list of strings"
            + (f"; accepted: {list(accepted)}" if accepted else ""),
            claim="aud",
        )
    if accepted is None:
        return
    for audience in audiences:
        if audience in accepted:
            return
    raise AuthError(
        ErrorCode.INVALID_AUDIENCE,
        f"token audience {[a[:100] for a in audiences[:10]]} is not accepted; "
        f"accepted: {list(accepted)}",
        claim="aud",
    )


def _timestamp(claims: Mapping[str, Any], name: str) -> float | None:
    value: Any = claims.get(name)
    kind = type(value)
    # bool is an int subclass and fails `kind is int`; NaN fails both comparisons (RFC 7519 §2).
    if (kind is int or kind is float) and 0 <= value <= MAX_TIMESTAMP:
        return value  # type: ignore[no-any-return]
    if value is None and name not in claims:
        return None
    raise AuthError(
        ErrorCode.INVALID_CLAIM,
        f"token {name} claim must be a NumericDate (seconds since 1970 as a JSON number "
        f"between 0 and {MAX_TIMESTAMP}), got {_show(value)}",
        claim=name,
    )


def _show(value: Any) -> str:
    return repr(value[:100]) if isinstance(value, str) else repr(value)[:100]


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
