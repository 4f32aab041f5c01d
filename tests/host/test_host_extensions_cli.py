"""`extplane extensions …`, run as a user runs it, against the host over loopback gRPC."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from extension_support import LOGGING, component
from host_support import ADMIN_TOKEN, READER_TOKEN, Registry

from extplane_client import ExtensionsClient
from tests.e2e.cli_process import run_extplane

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_upload_get_list_and_refusals(registry: Registry, tmp_path: Path) -> None:
    wasm = tmp_path / "tickets.wasm"
    content = component([("alga:extension/logging", LOGGING)])
    wasm.write_bytes(content)
    where = ("--address", registry.address)
    admin = {"EXTPLANE_TOKEN": ADMIN_TOKEN}
    reader = {"EXTPLANE_TOKEN": READER_TOKEN}
    names = ("--extension-id", "com.example.tickets", "--version", "1.0.0")
    upload = (
        "extensions", "upload", *names, str(wasm), "--capability", "cap:storage.kv",
        "--capability", "cap:log.emit", "--timeout-ms", "2000", "--memory-bytes", "67108864",
        "--fuel", "1000000", *where,
    )  # fmt: skip

    uploaded = await run_extplane(*upload, env=admin)
    assert uploaded.code == 0, uploaded.stderr
    stored = json.loads(uploaded.stdout)
    assert stored["component"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert stored["component"]["size_bytes"] == str(len(content))
    assert stored["declared_capabilities"] == ["cap:log.emit", "cap:storage.kv"]
    assert stored["limits"] == {"timeout_ms": 2000, "memory_bytes": "67108864", "fuel": "1000000"}
    again = await run_extplane(*upload, env=admin)
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout) == stored

    poly = await run_extplane(
        "extensions", "upload", "--extension-id", "com.example.poly", "--version", "1",
        "--grpc-address", "handler.example.internal:50061", *where, env=admin,
    )  # fmt: skip
    assert poly.code == 0, poly.stderr
    assert json.loads(poly.stdout)["grpc_address"] == "handler.example.internal:50061"

    got = await run_extplane("extensions", "get", *names, *where, env=reader)
    assert got.code == 0, got.stderr
    assert json.loads(got.stdout) == stored
    listed = await run_extplane("extensions", "list", *where, env=reader)
    assert listed.code == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["extension_id"], r["version"]) for r in rows] == [
        ("com.example.tickets", "1.0.0"),
        ("com.example.poly", "1"),
    ]
    only = await run_extplane(
        "extensions", "list", "--extension-id", "com.example.poly", "--limit", "1", *where,
        env=reader,
    )  # fmt: skip
    assert [json.loads(line)["version"] for line in only.stdout.splitlines()] == ["1"]


async def test_refusals(registry: Registry, tmp_path: Path) -> None:
    where = ("--address", registry.address)
    admin = {"EXTPLANE_TOKEN": ADMIN_TOKEN}
    reader = {"EXTPLANE_TOKEN": READER_TOKEN}
    names = ("--extension-id", "com.example.tickets", "--version", "1.0.0")
    wasm = tmp_path / "tickets.wasm"
    wasm.write_bytes(component([("alga:extension/logging", LOGGING)]))
    async with ExtensionsClient(registry.channel, token=ADMIN_TOKEN) as client:
        await client.upload_extension_version(
            extension_id="com.example.tickets", version="1.0.0", component=wasm.read_bytes()
        )

    other = tmp_path / "other.wasm"
    other.write_bytes(component([("alga:extension/logging", LOGGING)], marker="other"))
    changed = await run_extplane("extensions", "upload", *names, str(other), *where, env=admin)
    assert changed.code == 3
    assert "ALREADY_EXISTS" in changed.stderr

    core = tmp_path / "core.wasm"
    core.write_bytes(b"\0asm\1\0\0\0")
    bad = await run_extplane(
        "extensions", "upload", "--extension-id", "x", "--version", "2", str(core), *where,
        env=admin,
    )  # fmt: skip
    assert bad.code == 3
    assert "INVALID_ARGUMENT: component: is a core WebAssembly module" in bad.stderr
    evil = tmp_path / "evil.wasm"
    evil.write_bytes(component([("evil:net/raw", "(instance)")]))
    disallowed = await run_extplane(
        "extensions", "upload", "--extension-id", "x", "--version", "3", str(evil), *where,
        env=admin,
    )  # fmt: skip
    assert disallowed.code == 3
    assert "import 'evil:net/raw'" in disallowed.stderr

    denied = await run_extplane("extensions", "upload", *names, str(wasm), *where, env=reader)
    assert denied.code == 3
    assert "PERMISSION_DENIED" in denied.stderr
    anonymous = await run_extplane("extensions", "list", *where, env={"EXTPLANE_TOKEN": ""})
    assert anonymous.code == 3
    assert "UNAUTHENTICATED" in anonymous.stderr
    missing = await run_extplane("extensions", "get", "--extension-id", "x", "--version", "9",
                                 *where, env=reader)  # fmt: skip
    assert missing.code == 3
    assert "NOT_FOUND" in missing.stderr

    for usage, says in (
        ((str(tmp_path / "absent.wasm"),), "absent.wasm: No such file or directory"),
        ((str(wasm), "--grpc-address", "h:1"), "not allowed with argument"),
        ((), "one of the arguments COMPONENT --grpc-address is required"),
        ((str(wasm), "--timeout-ms", "0"), "must be at least 1"),
    ):
        refused = await run_extplane("extensions", "upload", *names, *usage, *where, env=admin)
        assert refused.code == 2, (usage, refused.stderr)
        assert says in refused.stderr
