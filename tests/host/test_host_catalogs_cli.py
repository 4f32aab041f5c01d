"""`extplane catalog load …`, run as a user runs it, against the host over loopback gRPC."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from catalog_support import Host, as_csv, as_json, client_row, serve_catalog_host, service_row
from host_support import ADMIN_TOKEN, READER_TOKEN

from tests.e2e.cli_process import run_extplane

ADMIN = {"EXTPLANE_TOKEN": ADMIN_TOKEN}
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def host(database_url: str, tmp_path: Path) -> AsyncIterator[Host]:
    async with serve_catalog_host(database_url, tmp_path / "data") as running:
        yield running


async def test_load_by_extension_and_by_format(host: Host, tmp_path: Path) -> None:
    where = ("--address", host.address)
    clients = tmp_path / "clients.json"
    clients.write_bytes(as_json([client_row("c-1", "Acme"), client_row("c-2", "Globex")]))
    loaded = await run_extplane(
        "catalog", "load", "clients", "--tenant", "acme", str(clients), *where, env=ADMIN
    )
    assert loaded.code == 0, loaded.stderr
    assert json.loads(loaded.stdout) == {
        "tenant": "acme", "catalog": "clients", "loaded": 2, "replaced": 0,
    }  # fmt: skip

    services = tmp_path / "export.txt"
    columns = ("service_id", "service_name", "item_kind", "billing_method", "default_rate",
               "unit_of_measure", "is_active")  # fmt: skip
    services.write_bytes(as_csv([service_row("s-1", "Backup")], columns))
    unknown = await run_extplane(
        "catalog", "load", "services", "--tenant", "acme", str(services), *where, env=ADMIN
    )
    assert unknown.code == 2
    assert "--format" in unknown.stderr
    given = await run_extplane(
        "catalog", "load", "services", "--tenant", "acme", str(services), "--format", "csv",
        *where, env=ADMIN,
    )  # fmt: skip
    assert given.code == 0, given.stderr
    assert json.loads(given.stdout)["loaded"] == 1
    async with host.admin() as admin:
        counts = await admin.get_catalog_counts(tenant="acme")
    assert (counts.client_count, counts.service_count) == (2, 1)


async def test_a_bad_file_prints_each_row_and_field_and_exits_3(host: Host, tmp_path: Path) -> None:
    where = ("--address", host.address)
    bad = tmp_path / "clients.csv"
    bad.write_text(
        "client_id,client_name,is_inactive,billing_email\n"
        "c-1,Acme,false,ap@acme.example\n"
        "c-2,Globex,perhaps,\n"
        "c-3,Initech,false,no-at-sign\n"
    )
    refused = await run_extplane(
        "catalog", "load", "clients", "--tenant", "acme", str(bad), *where, env=ADMIN
    )
    assert refused.code == 3
    assert "content.rows[2].is_inactive: must be true or false" in refused.stderr
    assert "content.rows[3].billing_email: not an email address" in refused.stderr
    assert "INVALID_ARGUMENT: row 2: is_inactive" in refused.stderr
    async with host.admin() as admin:
        assert (await admin.get_catalog_counts(tenant="acme")).client_count == 0

    reader = await run_extplane(
        "catalog", "load", "clients", "--tenant", "acme", str(bad), *where,
        env={"EXTPLANE_TOKEN": READER_TOKEN},
    )  # fmt: skip
    assert reader.code == 3
    assert "PERMISSION_DENIED" in reader.stderr
    missing = await run_extplane(
        "catalog", "load", "clients", "--tenant", "acme", str(tmp_path / "nope.json"), *where,
        env=ADMIN,
    )  # fmt: skip
    assert missing.code == 2
    assert "nope.json" in missing.stderr
