"""Settings from `EXTPLANE_*` environment variables and TOML files, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from extplane.config import CONFIG_FILE_ENV, Settings, load_settings


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # load_settings records the file in the environment; monkeypatch undoes it.
    monkeypatch.setenv(CONFIG_FILE_ENV, "")
    monkeypatch.delenv(CONFIG_FILE_ENV)


def test_environment_with_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTPLANE_SHUTDOWN_GRACE_S", "2.5")
    monkeypatch.setenv("EXTPLANE_METRICS__PORT", "0")
    monkeypatch.setenv("EXTPLANE_METRICS__ENABLED", "false")
    monkeypatch.setenv("EXTPLANE_LOGGING__LEVEL", "DEBUG")
    monkeypatch.setenv("EXTPLANE_TRACING__OTLP_ENDPOINT", "http://127.0.0.1:4317")

    settings = load_settings()

    assert settings.shutdown_grace_s == 2.5
    assert (settings.metrics.port, settings.metrics.enabled) == (0, False)
    assert settings.logging.level == "DEBUG"
    assert settings.tracing.otlp_endpoint == "http://127.0.0.1:4317"


def test_toml_file_below_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "extplane.toml"
    config.write_text(
        'shutdown_grace_s = 3\nhost = "::1"\n\n'
        "[metrics]\nport = 9999\n\n"
        '[logging]\nlevel = "WARNING"\njson_format = false\n'
    )
    monkeypatch.setenv("EXTPLANE_METRICS__PORT", "0")

    settings = load_settings(config_file=config)

    assert settings.shutdown_grace_s == 3
    assert settings.host == "::1"
    assert settings.metrics.port == 0
    assert (settings.logging.level, settings.logging.json_format) == ("WARNING", False)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        load_settings(config_file=missing)


@pytest.mark.parametrize(
    ("variable", "bad", "field"),
    [
        ("EXTPLANE_METRICS__PORT", "70000", "metrics.port"),
        ("EXTPLANE_SHUTDOWN_GRACE_S", "-1", "shutdown_grace_s"),
        ("EXTPLANE_LOGGING__LEVEL", "LOUD", "logging.level"),
        ("EXTPLANE_TRACING__SAMPLE_RATIO", "2", "tracing.sample_ratio"),
    ],
)
def test_bad_environment_value_names_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, bad: str, field: str
) -> None:
    monkeypatch.setenv(variable, bad)
    with pytest.raises(ValidationError) as error:
        load_settings()
    assert [".".join(map(str, e["loc"])) for e in error.value.errors()] == [field]
    assert field in str(error.value)


def test_bad_or_unknown_toml_key_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "extplane.toml"
    config.write_text('shutdown_grace = 3\n\n[metrics]\nport = "lots"\n')
    with pytest.raises(ValidationError) as error:
        load_settings(config_file=config)
    assert sorted(".".join(map(str, e["loc"])) for e in error.value.errors()) == [
        "metrics.port",
        "shutdown_grace",
    ]


def test_defaults_stand_alone() -> None:
    settings = Settings()
    assert settings.metrics.enabled
    assert settings.tracing.otlp_endpoint is None
    assert settings.logging.json_format


def test_a_config_file_given_once_does_not_leak_into_later_loads(tmp_path: Path) -> None:
    config = tmp_path / "extplane.toml"
    config.write_text("[capabilities]\nport = 7001\n")
    assert load_settings(config_file=config).capabilities.port == 7001
    assert load_settings().capabilities.port == 50051


def test_a_misspelt_nested_key_is_refused_not_ignored(tmp_path: Path) -> None:
    config = tmp_path / "extplane.toml"
    config.write_text('[tracing]\notlp_endpont = "http://127.0.0.1:4317"\n')
    with pytest.raises(ValidationError, match="otlp_endpont"):
        load_settings(config_file=config)
