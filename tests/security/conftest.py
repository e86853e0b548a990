"""Fixtures for the security test list (DESIGN.md "Security test list"): keys, verifiers, codes.

Every attack goes through the real :class:`~authgate.verifier.TokenVerifier` over a
:class:`~authgate.jose.key_source.StaticKeys` set (or a real loopback JWKS where the network
matters), with a :class:`~authgate.clock.ManualClock` so time-boundary cases are exact. Keys
are generated once per session: RSA generation dominates the cost of the whole suite otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    NOW,
    SigningKey,
    ec_key,
    ed_key,
    hs_key,
    jwks,
    rsa_key,
)

from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.verifier import IssuerConfig, TokenVerifier

# Verification happens 10 s after the factory's default iat, well inside exp.
VERIFY_AT = NOW + 10
LEEWAY = 60.0


@dataclass(frozen=True)
class Keys:
    """One signing key per family, plus the odd ones attacks need."""

    rsa: SigningKey
    rsa_no_alg: SigningKey  # JWK without "alg": may verify every RSA algorithm
    rsa_1024: SigningKey
    ec: SigningKey
    ed: SigningKey
    hs: SigningKey
    attacker_ec: SigningKey  # never published in any issuer's key set


@pytest.fixture(scope="session")
def keys() -> Keys:
    no_alg = rsa_key("rsa-any")
    no_alg.jwk.pop("alg")
    return Keys(
        rsa=rsa_key("rsa-1"),
        rsa_no_alg=no_alg,
        rsa_1024=rsa_key("rsa-weak", bits=1024),
        ec=ec_key("ec-1"),
        ed=ed_key("ed-1"),
        hs=hs_key("hs-1"),
        attacker_ec=ec_key("evil-1"),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(VERIFY_AT)


MakeVerifier = Callable[..., TokenVerifier]


@pytest.fixture
def make_verifier(clock: ManualClock) -> MakeVerifier:
    """``make_verifier(*keys, algorithms=..., jwks_doc=..., **IssuerConfig fields)``.

    Defaults: our ISSUER and AUDIENCE, the algorithms the keys declare, leeway 60 s, no verdict
    cache (a cached success would hide the second half of an attack).
    """

    def build(
        *signing_keys: SigningKey,
        algorithms: frozenset[str] | None = None,
        jwks_doc: Mapping[str, Any] | None = None,
        **config: Any,
    ) -> TokenVerifier:
        doc = jwks_doc if jwks_doc is not None else jwks(*signing_keys)
        algs = algorithms or frozenset(k.alg for k in signing_keys)
        config.setdefault("audiences", (AUDIENCE,))
        config.setdefault("leeway", LEEWAY)
        source = StaticKeys(KeySet.from_jwks(doc), description="security-test")
        cfg = IssuerConfig(issuer=ISSUER, keys=source, algorithms=algs, **config)
        return TokenVerifier([cfg], clock=clock)

    return build


def refusal(verifier: TokenVerifier, token: str) -> AuthError:
    """The AuthError ``verify`` raises for ``token``; fails the test if it is accepted."""
    with pytest.raises(AuthError) as info:
        verifier.verify(token)
    return info.value


def code_of(verifier: TokenVerifier, token: str) -> ErrorCode:
    return refusal(verifier, token).code


@pytest.fixture
def refused() -> Callable[[TokenVerifier, str], ErrorCode]:
    """``refused(verifier, token)`` → the error code (the test fails if the token passes)."""
    return code_of
