"""`extplane installs …`, run as a user runs it, against the registry over loopback gRPC."""

from __future__ import annotations

import json

import pytest
from host_support import ADMIN_TOKEN, READER_TOKEN, Registry

from tests.e2e.cli_process import run_extplane

ADMIN = {"EXTPLANE_TOKEN": ADMIN_TOKEN}
READER = {"EXTPLANE_TOKEN": READER_TOKEN}
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_register_update_disable_get_list(registry: Registry) -> None:
    where = ("--address", registry.address)
    made = await run_extplane(
        "installs", "register", "--tenant", "acme", "--install-id", "cli-1",
        "--extension-id", "com.example.cli", "--version", "1.0.0",
        "--grant", "cap:storage.kv", "--grant", "cap:log.emit",
        "--egress", "api.example.com", "--route", "tickets=https://tickets.internal/",
        "--storage-bytes", "1048576", *where, env=ADMIN,
    )  # fmt: skip
    assert made.code == 0, made.stderr
    install = json.loads(made.stdout)
    assert install["granted_capabilities"] == ["cap:log.emit", "cap:storage.kv"]
    assert install["ui_proxy_routes"] == [
        {
            "route": "tickets",
            "upstream_url": "https://tickets.internal/",
            "secret_key": "",
            "secret_header": "",
        }
    ]
    assert install["limits"]["storage_bytes"] == 1048576
    assert install["revision"] == 1

    changed = await run_extplane(
        "installs", "update", "--tenant", "acme", "--install-id", "cli-1", "--revision", "1",
        "--no-egress", "--log-records-per-minute", "60", *where, env=ADMIN,
    )  # fmt: skip
    assert changed.code == 0, changed.stderr
    after = json.loads(changed.stdout)
    assert after["egress_allowlist"] == []
    assert after["limits"]["log_records_per_minute"] == 60
    assert after["limits"]["storage_bytes"] == 1048576  # kept: not given
    assert after["granted_capabilities"] == install["granted_capabilities"]

    stale = await run_extplane(
        "installs", "update", "--tenant", "acme", "--install-id", "cli-1", "--revision", "1",
        "--version", "2", *where, env=ADMIN,
    )  # fmt: skip
    assert stale.code == 3
    assert "ABORTED" in stale.stderr

    disabled = await run_extplane(
        "installs", "disable", "--tenant", "acme", "--install-id", "cli-1",
        "--reason", "maintenance", *where, env=ADMIN,
    )  # fmt: skip
    assert disabled.code == 0, disabled.stderr
    assert json.loads(disabled.stdout)["enabled"] is False

    read = await run_extplane(
        "installs", "get", "--tenant", "acme", "--install-id", "cli-1", *where, env=READER
    )
    assert read.code == 0, read.stderr
    assert json.loads(read.stdout)["revision"] == 3

    listed = await run_extplane("installs", "list", "--disabled", *where, env=READER)
    assert listed.code == 0, listed.stderr
    assert [json.loads(line)["install_id"] for line in listed.stdout.splitlines()] == ["cli-1"]


async def test_refusals_are_one_line_and_exit_3(registry: Registry) -> None:
    where = ("--address", registry.address)
    unknown = await run_extplane(
        "installs", "register", "--tenant", "acme", "--install-id", "x",
        "--extension-id", "e", "--version", "1", "--grant", "cap:everything", *where, env=ADMIN,
    )  # fmt: skip
    assert unknown.code == 3
    assert "INVALID_ARGUMENT" in unknown.stderr
    assert "cap:everything" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1

    reader_writes = await run_extplane(
        "installs", "disable", "--tenant", "acme", "--install-id", "x", *where, env=READER
    )
    assert reader_writes.code == 3
    assert "PERMISSION_DENIED" in reader_writes.stderr

    bad_route = await run_extplane(
        "installs", "register", "--tenant", "acme", "--install-id", "x",
        "--extension-id", "e", "--version", "1", "--route", "no-equals", *where, env=ADMIN,
    )  # fmt: skip
    assert bad_route.code == 2
