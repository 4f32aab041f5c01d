"""The install registry over a real gRPC channel, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from host_support import Registry

from extplane.host.capability_names import known_capabilities
from extplane_client import InstallsError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb


async def _register(registry: Registry, install_id: str = "inst-1", **fields: object) -> pb.Install:
    values: dict[str, object] = {
        "tenant": "acme",
        "install_id": install_id,
        "extension_id": "com.example.tickets",
        "version": "1.0.0",
    }
    values.update(fields)
    async with registry.client() as client:
        return await client.register_install(**values)  # type: ignore[arg-type]


async def test_a_registered_install_reads_back_as_stored(registry: Registry) -> None:
    made = await _register(
        registry,
        granted_capabilities=["cap:storage.kv", "cap:log.emit"],
        egress_allowlist=["api.example.com", "*.cdn.example.com:8443"],
        ui_proxy_routes=[("tickets/list", "https://tickets.internal/list")],
    )
    async with registry.client() as client:
        read = await client.get_install(tenant="acme", install_id="inst-1")

    assert read == made
    assert read.enabled
    assert read.revision == 1
    assert list(read.granted_capabilities) == ["cap:log.emit", "cap:storage.kv"]
    assert list(read.egress_allowlist) == ["*.cdn.example.com:8443", "api.example.com"]
    assert [(r.route, r.upstream_url) for r in read.ui_proxy_routes] == [
        ("tickets/list", "https://tickets.internal/list")
    ]
    assert read.create_time == read.update_time
    assert read.create_time.seconds > 0


async def test_nothing_is_granted_that_was_not_asked_for(registry: Registry) -> None:
    made = await _register(registry)
    assert list(made.granted_capabilities) == []
    # Alga grants these three to every install; we do not.
    for implicit in ("cap:context.read", "cap:log.emit", "cap:user.read"):
        assert implicit not in made.granted_capabilities


async def test_limits_default_to_algas_and_can_be_set(registry: Registry) -> None:
    made = await _register(registry)
    assert made.limits == pb.InstallLimits(
        storage_value_bytes=65_536,
        storage_keys_per_namespace=5_120,
        storage_bytes=268_435_456,
        log_records_per_minute=600,
    )
    tight = await _register(registry, "inst-2", limits=pb.InstallLimits(storage_value_bytes=1024))
    assert tight.limits.storage_value_bytes == 1024
    assert tight.limits.storage_keys_per_namespace == 5_120


async def test_an_unknown_capability_is_refused_naming_the_field_and_the_known_ones(
    registry: Registry,
) -> None:
    with pytest.raises(InstallsError) as refused:
        await _register(registry, granted_capabilities=["cap:storage.kv", "cap:root"])

    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    why = refused.value.field_violations["granted_capabilities[1]"]
    assert "cap:root" in why
    for known in known_capabilities():
        assert known in why
    async with registry.client() as client:
        with pytest.raises(InstallsError) as missing:
            await client.get_install(tenant="acme", install_id="inst-1")
    assert missing.value.code is grpc.StatusCode.NOT_FOUND


async def test_registering_an_existing_install_again_is_already_exists(
    registry: Registry,
) -> None:
    await _register(registry)
    with pytest.raises(InstallsError) as again:
        await _register(registry, version="2.0.0")
    assert again.value.code is grpc.StatusCode.ALREADY_EXISTS
    # The same id under another tenant is another install.
    other = await _register(registry, tenant="globex")
    assert other.tenant == "globex"
    assert other.revision == 1


async def test_update_replaces_what_it_sets_and_keeps_the_rest(registry: Registry) -> None:
    made = await _register(registry, granted_capabilities=["cap:storage.kv"])
    async with registry.client() as client:
        changed = await client.update_install(
            tenant="acme",
            install_id="inst-1",
            revision=made.revision,
            version="1.1.0",
            granted_capabilities=["cap:secrets.get"],
        )
        cleared = await client.update_install(
            tenant="acme", install_id="inst-1", revision=changed.revision, granted_capabilities=[]
        )

    assert changed.revision == 2
    assert changed.version == "1.1.0"
    assert list(changed.granted_capabilities) == ["cap:secrets.get"]
    assert changed.extension_id == made.extension_id
    assert changed.limits == made.limits
    assert changed.update_time.ToNanoseconds() >= made.update_time.ToNanoseconds()
    assert changed.create_time == made.create_time
    assert cleared.revision == 3
    assert list(cleared.granted_capabilities) == []


async def test_an_update_with_a_stale_revision_is_aborted_and_changes_nothing(
    registry: Registry,
) -> None:
    made = await _register(registry)
    async with registry.client() as client:
        await client.update_install(tenant="acme", install_id="inst-1", revision=1, version="1.1.0")
        with pytest.raises(InstallsError) as stale:
            await client.update_install(
                tenant="acme", install_id="inst-1", revision=made.revision, version="9.9.9"
            )
        read = await client.get_install(tenant="acme", install_id="inst-1")

    assert stale.value.code is grpc.StatusCode.ABORTED
    assert read.version == "1.1.0"
    assert read.revision == 2


async def test_concurrent_updates_at_one_revision_exactly_one_wins(registry: Registry) -> None:
    await _register(registry)

    async def attempt(n: int) -> str:
        async with registry.client() as client:
            try:
                await client.update_install(
                    tenant="acme", install_id="inst-1", revision=1, version=f"2.0.{n}"
                )
            except InstallsError as error:
                return error.code.name
            return "OK"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(16)))
    assert outcomes.count("OK") == 1
    assert set(outcomes) == {"OK", "ABORTED"}
    async with registry.client() as client:
        read = await client.get_install(tenant="acme", install_id="inst-1")
    assert read.revision == 2
    assert read.version == f"2.0.{outcomes.index('OK')}"


async def test_an_update_that_changes_nothing_keeps_the_revision(registry: Registry) -> None:
    made = await _register(registry, granted_capabilities=["cap:log.emit"])
    async with registry.client() as client:
        same = await client.update_install(
            tenant="acme", install_id="inst-1", revision=1, granted_capabilities=["cap:log.emit"]
        )
    assert same == made


async def test_disable_and_enable(registry: Registry) -> None:
    await _register(registry)
    async with registry.client() as client:
        disabled = await client.disable_install(
            tenant="acme", install_id="inst-1", reason="abuse report"
        )
        again = await client.disable_install(tenant="acme", install_id="inst-1")
        with pytest.raises(InstallsError) as stale:
            await client.enable_install(tenant="acme", install_id="inst-1", revision=1)
        enabled = await client.enable_install(tenant="acme", install_id="inst-1", revision=2)

    assert not disabled.enabled
    assert disabled.revision == 2
    assert again == disabled  # already disabled: nothing changes
    assert stale.value.code is grpc.StatusCode.ABORTED
    assert enabled.enabled
    assert enabled.revision == 3


async def test_changing_a_missing_install_is_not_found(registry: Registry) -> None:
    async with registry.client() as client:
        for call in (
            client.update_install(tenant="acme", install_id="nope", revision=1, version="1"),
            client.disable_install(tenant="acme", install_id="nope"),
            client.enable_install(tenant="acme", install_id="nope"),
            client.get_install(tenant="acme", install_id="nope"),
        ):
            with pytest.raises(InstallsError) as missing:
                await call
            assert missing.value.code is grpc.StatusCode.NOT_FOUND


async def test_list_pages_through_every_install_once_with_filters(registry: Registry) -> None:
    for n in range(23):
        await _register(
            registry,
            f"inst-{n:02d}",
            tenant="acme" if n % 2 else "globex",
            extension_id="com.example.a" if n % 3 else "com.example.b",
        )
    async with registry.client() as client:
        await client.disable_install(tenant="acme", install_id="inst-01")
        seen = []
        token = ""
        while True:
            page = await client.list_installs(tenant="acme", page_size=4, page_token=token)
            assert len(page.installs) <= 4
            seen += [i.install_id for i in page.installs]
            token = page.next_page_token
            if not token:
                break
        assert seen == [f"inst-{n:02d}" for n in range(23) if n % 2]
        everything = [i async for i in client.iter_installs(page_size=5)]
        assert len(everything) == 23
        b_only = [i.install_id async for i in client.iter_installs(extension_id="com.example.b")]
        assert b_only == [f"inst-{n:02d}" for n in range(23) if n % 3 == 0]
        disabled = [i.install_id async for i in client.iter_installs(enabled="disabled")]
        assert disabled == ["inst-01"]
        enabled = [i async for i in client.iter_installs(tenant="acme", enabled="enabled")]
        assert len(enabled) == 10
        assert all(i.enabled for i in enabled)

        first = await client.list_installs(tenant="acme", page_size=2)
        with pytest.raises(InstallsError) as replayed:
            await client.list_installs(tenant="globex", page_token=first.next_page_token)
    assert replayed.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in replayed.value.field_violations


async def test_the_registry_survives_a_restart(registry: Registry) -> None:
    made = await _register(registry, granted_capabilities=["cap:ui.proxy"])
    await registry.service.stop()
    await registry.service.start()
    async with registry.client() as client:
        assert await client.get_install(tenant="acme", install_id="inst-1") == made
