"""`extplane secrets …`, run as a user runs it, against the host over loopback gRPC;
`rotate-key` and `rewrap` on the key directory and database the host uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from host_support import ADMIN_TOKEN, READER_TOKEN, Registry

from extplane.host.secrets.sealing import SecretAddress
from tests.e2e.cli_process import run_extplane

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _read(registry: Registry, key: str) -> str:
    vault = registry.service.secrets.serving.current
    return await vault.read(SecretAddress("acme", "cli-1", key))


async def test_set_from_stdin_and_file_list_delete_rotate_rewrap(
    registry: Registry, database_url: str, tmp_path: Path
) -> None:
    async with registry.client() as admin:
        await admin.register_install(
            tenant="acme",
            install_id="cli-1",
            extension_id="com.example.cli",
            version="1",
            granted_capabilities=["cap:secrets.get"],
        )
    where = ("--address", registry.address)
    names = ("--tenant", "acme", "--install-id", "cli-1")
    env = {
        "EXTPLANE_TOKEN": ADMIN_TOKEN,
        "EXTPLANE_DATA_DIR": str(tmp_path / "data"),
        "EXTPLANE_HOST_PROVIDERS__DATABASE_URL": database_url,
    }
    reader = {**env, "EXTPLANE_TOKEN": READER_TOKEN}

    piped = await run_extplane(
        "secrets", "set", *names, "--key", "API_KEY", *where, env=env, stdin=b"from-stdin\n"
    )
    assert piped.code == 0, piped.stderr
    assert json.loads(piped.stdout)["key"] == "API_KEY"
    assert "from-stdin" not in piped.stdout + piped.stderr
    assert await _read(registry, "API_KEY") == "from-stdin"

    pem = tmp_path / "cert.pem"
    pem.write_text("-----BEGIN X-----\nabc\n-----END X-----\n")
    filed = await run_extplane(
        "secrets", "set", *names, "--key", "TLS_KEY", "--from-file", str(pem),
        "--expires", "2099-01-01T00:00:00Z", *where, env=env,
    )  # fmt: skip
    assert filed.code == 0, filed.stderr
    assert json.loads(filed.stdout)["expire_time"] == "2099-01-01T00:00:00Z"
    assert await _read(registry, "TLS_KEY") == "-----BEGIN X-----\nabc\n-----END X-----"

    for never in (("--value", "v"), ("v",)):
        refused = await run_extplane(
            "secrets", "set", *names, "--key", "K", *never, *where, env=env
        )
        assert refused.code == 2
    empty = await run_extplane("secrets", "set", *names, "--key", "K", *where, env=env)
    assert empty.code == 2
    assert "empty" in empty.stderr
    denied = await run_extplane(
        "secrets", "set", *names, "--key", "K", *where, env=reader, stdin=b"v"
    )
    assert denied.code == 3
    assert "PERMISSION_DENIED" in denied.stderr

    listed = await run_extplane("secrets", "list", *names, *where, env=reader)
    assert listed.code == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["key"] for row in rows] == ["API_KEY", "TLS_KEY"]
    first = rows[0]["key_id"]
    assert "from-stdin" not in listed.stdout

    rotated = await run_extplane("secrets", "rotate-key", env=env)
    assert rotated.code == 0, rotated.stderr
    assert f"(was {first})" in rotated.stdout
    second = rotated.stdout.split()[3]
    assert second != first
    assert second.startswith("sk-")
    rewrapped = await run_extplane("secrets", "rewrap", env=env)
    assert rewrapped.code == 0, rewrapped.stderr
    assert f"rewrapped 2 secrets onto key {second}; 0 already" in rewrapped.stdout
    (registry.service.secrets.key_dir / f"{first}.key").unlink()
    assert await _read(registry, "API_KEY") == "from-stdin"

    deleted = await run_extplane("secrets", "delete", *names, "--key", "API_KEY", *where, env=env)
    assert deleted.code == 0, deleted.stderr
    after = await run_extplane("secrets", "list", *names, *where, env=reader)
    assert [json.loads(line)["key_id"] for line in after.stdout.splitlines()] == [second]
    again = await run_extplane("secrets", "delete", *names, "--key", "API_KEY", *where, env=env)
    assert again.code == 3
    assert "NOT_FOUND" in again.stderr
