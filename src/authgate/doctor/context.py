"""What ``authgate doctor`` inspects: the settings ``serve``, the client and the token store read.

:func:`load_context` reads them exactly as the other commands do (``--config`` TOML file plus the
``AUTHGATE_*`` environment); a setting that does not even load becomes a failed ``settings``
check instead of a traceback, and the checks that need it are skipped. Tests build a
:class:`DoctorContext` directly with settings objects, an injected clock and a subject token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from authgate.clock import Clock, system_clock
from authgate.doctor.report import CheckResult, Status
from authgate.errors import AuthgateError
from authgate.gateway.settings import GatewaySettings, load_gateway_settings
from authgate.okta.settings import OktaSettings, load_okta_settings
from authgate.service_tokens.settings import TokenSettings
from authgate.settings import AuthgateSettings, load_settings

__all__ = ["DoctorContext", "Progress", "load_context", "unverified_claims"]

Progress = Callable[[str], None]


def _no_progress(step: str) -> None:
    del step


@dataclass
class DoctorContext:
    """Settings (None when they failed to load) and the knobs of one doctor run."""

    settings: AuthgateSettings | None = None
    okta: OktaSettings | None = None
    gateway: GatewaySettings | None = None
    tokens: TokenSettings | None = None
    clock: Clock = system_clock
    subject_token: str | None = None  # a user token to try token exchange with
    timeout: float = 10.0
    progress: Progress = _no_progress
    load_errors: list[CheckResult] = field(default_factory=list)

    @property
    def okta_client_configured(self) -> bool:
        return self.okta is not None and bool(self.okta.client_id)

    def okta_issuer(self) -> str | None:
        """The authorization server the client asks for tokens: Okta's own, else the first issuer."""
        if self.okta is not None and self.okta.issuer:
            return self.okta.issuer
        issuers = self.settings.all_issuers() if self.settings is not None else []
        return issuers[0].issuer if issuers else None


def _load(name: str, loader: Callable[[], Any], errors: list[CheckResult]) -> Any:
    try:
        return loader()
    except AuthgateError as error:
        errors.append(
            CheckResult(
                f"settings [{name}]",
                Status.FAIL,
                error.detail,
                fix="correct the named setting (see docs/reference/configuration.md)",
                code=str(error.code),
            )
        )
        return None


def load_context(
    config: Path | None = None,
    *,
    subject_token: str | None = None,
    clock: Clock = system_clock,
    progress: Progress = _no_progress,
) -> DoctorContext:
    """Read every settings model the way ``serve``/``okta``/``tokens`` do; never raises."""
    errors: list[CheckResult] = []
    return DoctorContext(
        settings=_load("issuers", lambda: load_settings(config), errors),
        okta=_load("okta", lambda: load_okta_settings(config), errors),
        gateway=_load("gateway", lambda: load_gateway_settings(config), errors),
        tokens=_load("service tokens", TokenSettings.load, errors),
        clock=clock,
        subject_token=subject_token,
        progress=progress,
        load_errors=errors,
    )


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWS WITHOUT verification — only to explain a refusal in words."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        value = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
