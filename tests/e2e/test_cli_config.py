"""`extplane config check` and `extplane token hash`, run as an operator runs them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extplane_client import MeteringQueryClient
from tests.e2e.cli_process import run_extplane
from tests.query_suite import query_suite

TOKEN = "billing-token-0123456789"
DSN_PASSWORD = "pg-s3cret-password"
CONFIG = f"""
[metering]
port = 6000
database_url = "postgresql://extplane:{DSN_PASSWORD}@db.internal:5432/extplane?sslpassword=keyfile-secret"

[metering.rate_card]
currency = "EUR"

[metering.rate_card.models."gpt-4o"]
input_per_million = "2.50"

[[auth.tokens]]
name = "billing"
token = "{TOKEN}"
roles = ["metering.reader"]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "extplane.toml"
    path.write_text(CONFIG)
    return path


async def test_check_prints_the_effective_settings_with_secrets_masked(config_file: Path) -> None:
    result = await run_extplane(
        "config", "check", "--config", str(config_file), env={"EXTPLANE_AUDIT__PORT": "7000"}
    )

    assert result.code == 0, result.stderr
    settings = dict(line.split(" = ", 1) for line in result.stdout.splitlines()[1:])
    assert result.stdout.startswith(f"# configuration OK, from file {config_file}")
    assert settings["metering.port"] == "6000"
    assert settings["audit.port"] == "7000"  # the environment applies too
    assert settings["host"] == '"127.0.0.1"'  # a default
    assert settings['metering.rate_card.models."gpt-4o".input_per_million'] == '"2.50"'
    assert settings["auth.tokens[0].name"] == '"billing"'
    assert settings["auth.tokens[0].token"] == '"**********"'
    assert settings["metering.database_url"] == (
        '"postgresql://extplane:********@db.internal:5432/extplane?sslpassword=********"'
    )
    for secret in (TOKEN, DSN_PASSWORD, "keyfile-secret"):
        assert secret not in result.stdout + result.stderr


async def test_check_as_json_reads_the_file_from_the_environment_too(config_file: Path) -> None:
    result = await run_extplane(
        "config", "check", "--json", env={"EXTPLANE_CONFIG_FILE": str(config_file)}
    )

    assert result.code == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["metering"]["port"] == 6000
    assert settings["auth"]["tokens"][0]["token"] == "**********"
    assert DSN_PASSWORD not in result.stdout


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"EXTPLANE_METERING__PORT": "not-a-port"}, "metering.port: Input should be a valid"),
        ({"EXTPLANE_AUDIT__DATABASE_URL": "mysql://db/x"}, "audit.database_url: "),
        (
            {"EXTPLANE_AUTH__TOKENS": '[{"name":"x","token":"short-secret","roles":["a"]}]'},
            "auth.tokens.0: token must be at least 16 characters",
        ),
        ({"EXTPLANE_AUTH__TOKENS": "[not json"}, "auth: its value from the environment"),
        ({"EXTPLANE_LOGGING__LEVEL": "LOUD"}, "logging.level: "),
        ({"EXTPLANE_CONFIG_FILE": "/nonexistent/extplane.toml"}, "config file /nonexistent/"),
    ],
)
async def test_an_invalid_setting_is_one_line_naming_it_and_exit_2(
    env: dict[str, str], names: str
) -> None:
    result = await run_extplane("config", "check", env=env)

    assert result.code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"extplane: invalid configuration: {names}")
    assert "short-secret" not in line


async def test_a_toml_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[metering]\nport = \n")

    result = await run_extplane("config", "check", "--config", str(path))

    assert result.code == 2
    assert result.stderr.strip() == (
        f"extplane: invalid configuration: config file {path}: Invalid value (at line 2, column 8)"
    )


async def test_an_unusable_signing_key_is_named(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key\n")

    result = await run_extplane(
        "config", "check", env={"EXTPLANE_AUDIT__SIGNING_KEY_FILE": str(key)}
    )

    assert result.code == 2
    assert result.stderr.startswith("extplane: invalid configuration: audit.signing_key_file: ")
    assert len(result.stderr.splitlines()) == 1


async def test_every_command_reports_bad_configuration_on_one_line() -> None:
    result = await run_extplane("up", env={"EXTPLANE_METERING__RETENTION_DAYS": "-1"})

    assert result.code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("extplane: invalid configuration: metering.retention_days: ")


async def test_token_hash_prints_the_form_the_services_accept(tmp_path: Path) -> None:
    result = await run_extplane("token", "hash", stdin=f"{TOKEN}\n".encode())

    assert result.code == 0, result.stderr
    digest = result.stdout.strip()
    assert digest == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert TOKEN not in result.stdout + result.stderr

    tokens = [{"name": "billing", "sha256": digest, "roles": ["metering.reader"]}]
    async with (
        query_suite(tmp_path / "data", auth={"tokens": tokens}) as suite,
        MeteringQueryClient(suite.metering, token=TOKEN) as client,
    ):
        report = await client.get_usage(start=datetime(2026, 1, 1, tzinfo=UTC))
    assert report.total.events == 0


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        (b"", "one word of printable ASCII"),
        (b"two words-0123456789\n", "one word of printable ASCII"),
        (b"short\n", "at least 16 characters"),
    ],
)
async def test_token_hash_refuses_what_no_service_would_accept(stdin: bytes, says: str) -> None:
    result = await run_extplane("token", "hash", stdin=stdin)

    assert result.code == 2
    assert result.stdout == ""
    assert says in result.stderr


async def test_token_hash_takes_no_token_argument() -> None:
    result = await run_extplane("token", "hash", TOKEN, stdin=b"")

    assert result.code == 2
    assert "unrecognized arguments" in result.stderr


async def test_an_unusable_key_ring_is_named(tmp_path: Path) -> None:
    ring = tmp_path / "keys"
    ring.mkdir()
    (ring / "nonsense.pem").write_text("not a key\n")

    result = await run_extplane(
        "config", "check", env={"EXTPLANE_AUDIT__SIGNING_KEY_DIR": str(ring)}
    )

    assert result.code == 2
    assert result.stderr.startswith("extplane: invalid configuration: audit.signing_key_dir: ")
    assert str(ring / "nonsense.pem") in result.stderr
    assert len(result.stderr.splitlines()) == 1
