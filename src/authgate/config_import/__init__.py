"""``authgate config import``: convert today's auth settings to authgate's (docs/migration/).

Sources: ASP.NET bearer options (``aspnet``), env-style ``JWT_*`` validation settings with
token exchange (``env-jwt``), ``ORCHEO_AUTH_*`` service-token/JWT settings (``orcheo``) and an
INI TACACS+/RADIUS ``[okta]`` backend (``tacacs-ini``). Each conversion is tested by feeding the
worked example of its migration guide through :func:`convert` and verifying a dev-IdP token
with the produced settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from authgate.config_import.jwt_sources import import_aspnet, import_env_jwt, import_orcheo
from authgate.config_import.model import ImportResult
from authgate.config_import.tacacs_ini import import_tacacs_ini
from authgate.errors import ConfigError

__all__ = ["SOURCES", "ImportResult", "Source", "convert", "convert_file"]

Source = Literal["aspnet", "env-jwt", "orcheo", "tacacs-ini"]
SOURCES: dict[str, Callable[[str], ImportResult]] = {
    "aspnet": import_aspnet,
    "env-jwt": import_env_jwt,
    "orcheo": import_orcheo,
    "tacacs-ini": import_tacacs_ini,
}


def convert(source: str, text: str) -> ImportResult:
    """Convert ``text`` in the ``source`` format; a ConfigError names what could not be read."""
    importer = SOURCES.get(source)
    if importer is None:
        raise ConfigError("--from", f"unknown source {source!r}; use one of {sorted(SOURCES)}")
    try:
        return importer(text)
    except (ValueError, KeyError, TypeError) as exc:  # JSON/INI syntax, a non-number
        raise ConfigError(f"--from {source}", f"cannot read the input: {exc}") from None


def convert_file(source: str, path: Path) -> ImportResult:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    return convert(source, text)
