"""Registering extension providers through the environment or a TOML file."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic
import pytest

from extplane.capabilities.config import CapabilitiesSettings
from extplane.config import CONFIG_FILE_ENV, Settings


def test_providers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_FILE_ENV, raising=False)
    monkeypatch.setenv(
        "EXTPLANE_CAPABILITIES__PROVIDERS",
        '[{"name":"x","address":"127.0.0.1:7000"},{"name":"y","address":"127.0.0.1:7001",'
        '"timeout_s":0.2}]',
    )

    providers = Settings().capabilities.providers

    assert [(p.name, p.address, p.timeout_s) for p in providers] == [
        ("x", "127.0.0.1:7000", None),
        ("y", "127.0.0.1:7001", 0.2),
    ]


def test_providers_from_a_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "extplane.toml"
    config.write_text(
        "[capabilities]\n"
        "cache_ttl_s = 0\n"
        "[[capabilities.providers]]\n"
        'name = "acme"\n'
        'address = "127.0.0.1:7000"\n'
        "timeout_s = 0.25\n"
    )
    monkeypatch.setenv(CONFIG_FILE_ENV, str(config))

    capabilities = Settings().capabilities

    assert capabilities.cache_ttl_s == 0
    assert [(p.name, p.timeout_s) for p in capabilities.providers] == [("acme", 0.25)]


@pytest.mark.parametrize(
    ("providers", "field"),
    [
        ([{"name": "a", "address": "x:1"}, {"name": "a", "address": "x:2"}], "duplicate"),
        ([{"name": "a=b", "address": "x:1"}], "providers.0.name"),
        ([{"name": "", "address": "x:1"}], "providers.0.name"),
        ([{"name": "a", "address": ""}], "providers.0.address"),
        ([{"name": "a", "address": "x:1", "timeout_s": 0}], "providers.0.timeout_s"),
        ([{"name": "a", "address": "x:1", "timeout": 1}], "providers.0.timeout"),
    ],
)
def test_bad_provider_settings_are_refused_by_field(
    providers: list[dict[str, object]], field: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=re.escape(field)):
        CapabilitiesSettings.model_validate({"providers": providers})
