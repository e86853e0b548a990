"""docs/reference/configuration.md is generated from the settings models and must be current."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from authgate.gateway.settings import GatewaySettings
from authgate.okta.settings import OktaSettings
from authgate.service_tokens.settings import TokenSettings
from authgate.settings import AuthgateSettings

ROOT = Path(__file__).resolve().parents[2]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", ROOT / "scripts" / "gen_config_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_page_is_current() -> None:
    page = (ROOT / "docs" / "reference" / "configuration.md").read_text(encoding="utf-8")
    assert page == generator().render(), "run: python scripts/gen_config_reference.py"


def test_every_setting_has_a_meaning() -> None:
    assert generator().missing_meanings() == []


def test_every_environment_variable_is_listed() -> None:
    page = (ROOT / "docs" / "reference" / "configuration.md").read_text(encoding="utf-8")
    for model, prefix in (
        (AuthgateSettings, "AUTHGATE_"),
        (OktaSettings, "AUTHGATE_OKTA_"),
        (GatewaySettings, "AUTHGATE_GATEWAY_"),
        (TokenSettings, "AUTHGATE_"),
    ):
        for name in model.model_fields:
            assert f"`{prefix}{name.upper()}`" in page, f"{prefix}{name.upper()} is missing"
