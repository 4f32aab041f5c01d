"""A server that cannot start says why in one line naming the setting or file, and
exits with status 2: never a traceback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from extplane.audit.chain.signing import CheckpointSigner
from extplane.audit.store.sqlite import SqliteAuditStore
from extplane.keys import SigningKey
from tests.e2e.cli_process import ephemeral_env


def _run(tmp_path: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extplane.cli", *args],
        env=ephemeral_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("extplane:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("service", "variable", "value", "named"),
    [
        ("metering", "EXTPLANE_METERING__DATABASE_URL", "mysql://db/x", "metering.database_url"),
        ("audit", "EXTPLANE_AUDIT__DATABASE_URL", "sqlite:", "audit.database_url"),
        ("audit", "EXTPLANE_AUDIT__MIN_TIMESTAMP", "1969-01-01T00:00:00Z", "audit.min_timestamp"),
        ("metering", "EXTPLANE_METERING__PORT", "70000", "metering.port"),
    ],
)
def test_a_bad_setting_is_named(
    tmp_path: Path, service: str, variable: str, value: str, named: str
) -> None:
    line = _one_line_error(_run(tmp_path, ["serve", service], {variable: value}))
    assert named in line


def test_a_signing_key_that_is_not_a_key_is_named(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    line = _one_line_error(
        _run(tmp_path, ["serve", "audit"], {"EXTPLANE_AUDIT__SIGNING_KEY_FILE": str(key)})
    )
    assert str(key) in line


def test_a_page_token_key_file_too_short_is_named(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "page-token.key").write_text("short")
    line = _one_line_error(_run(tmp_path, ["serve", "metering"], {}))
    assert "page-token.key" in line


@pytest.mark.parametrize("content", [None, "[metering\nport = 1"], ids=["missing", "not toml"])
def test_a_config_file_that_cannot_be_read_is_named(tmp_path: Path, content: str | None) -> None:
    config = tmp_path / "extplane.toml"
    if content is not None:
        config.write_text(content)
    line = _one_line_error(_run(tmp_path, ["--config", str(config), "serve", "metering"], {}))
    assert "invalid configuration" in line


def test_a_signed_log_without_its_key_refuses_to_start(tmp_path: Path) -> None:
    """The log has checkpoints but its key directory is gone: no new key is made
    over it; the refusal names the directory."""

    async def signed_log() -> None:
        store = SqliteAuditStore(tmp_path / "data" / "audit.db")
        await store.open()
        try:
            await store.add_checkpoint(
                CheckpointSigner(SigningKey.generate()).sign(1, bytes(32), 1)
            )
        finally:
            await store.close()

    asyncio.run(signed_log())
    line = _one_line_error(_run(tmp_path, ["serve", "audit"], {}))
    assert "has signed checkpoints but no signing key is in" in line
    assert str(tmp_path / "data" / "audit-keys") in line
    assert not (tmp_path / "data" / "audit-keys").exists()
