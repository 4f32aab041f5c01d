"""The `storage` provider over the real wire, on both backends: the host
service as deployed (registry, enforcement, StorageService on one server);
installs registered and tokens issued through the registry, as a runner does.

CRUD and revisions; compare-and-set raced by many clients (one winner per
revision); paging 1,000 keys while others are written and deleted (each
pre-existing key exactly once, in order); tenant and install isolation,
cursors included; the limits; a missing capability answered
STORAGE_ERROR_DENIED by the interceptor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status
from host_support import error_info
from real_host import Metadata, RealHost, serve_real_host

from extplane.host.storage.names import DEFAULT_PAGE_SIZE
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import storage_pb2 as pb
from extplane_protos.alga.extension.v1 import storage_pb2_grpc, types_pb2
from extplane_protos.extplane.admin.v1 import installs_pb2
from tests.adapter.sinks import WAIT_S

KV = "cap:storage.kv"


@pytest.fixture
async def host(database_url: str, tmp_path: Path) -> AsyncIterator[RealHost]:
    async with serve_real_host(database_url, tmp_path / "data") as served:
        yield served


async def _kv(host: RealHost, tenant: str, install_id: str, **fields: Any) -> Metadata:
    """A fresh install granted storage, and its token's metadata."""
    return await host.install(tenant, install_id, [KV], **fields)


def _stub(host: RealHost) -> storage_pb2_grpc.StorageServiceStub:
    return storage_pb2_grpc.StorageServiceStub(host.channel)


def _entry(namespace: str, key: str, value: bytes, revision: int | None = None) -> Any:
    entry = types_pb2.StorageEntry(namespace=namespace, key=key, value=value)
    if revision is not None:
        entry.revision = revision
    return entry


async def _failure(call: Coroutine[Any, Any, Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _variant(call: Coroutine[Any, Any, Any]) -> str:
    error = await _failure(call)
    found = alga_errors.variant_from_error(error)
    assert found is not None, error
    return found.name


async def _invalid_field(call: Coroutine[Any, Any, Any]) -> str:
    error = await _failure(call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    bad = BadRequest()
    assert any(detail.Unpack(bad) for detail in status.details)
    return bad.field_violations[0].field


async def test_put_get_delete_and_revisions(host: RealHost) -> None:
    md = await _kv(host, "acme", "kv-1")
    stub = _stub(host)
    first = await stub.Put(pb.StorageServicePutRequest(entry=_entry("ns", "k", b"v1")), metadata=md)
    assert first.entry.revision == 1
    second = await stub.Put(
        pb.StorageServicePutRequest(entry=_entry("ns", "k", b"v2")), metadata=md
    )
    assert second.entry.revision == 2
    cas = await stub.Put(
        pb.StorageServicePutRequest(entry=_entry("ns", "k", b"v3", revision=2)), metadata=md
    )
    assert (cas.entry.revision, cas.entry.value) == (3, b"v3")

    got = await stub.Get(pb.StorageServiceGetRequest(namespace="ns", key="k"), metadata=md)
    assert (got.entry.key, got.entry.value, got.entry.revision) == ("k", b"v3", 3)

    stale = stub.Put(
        pb.StorageServicePutRequest(entry=_entry("ns", "k", b"old", revision=2)), metadata=md
    )
    assert await _variant(stale) == "STORAGE_ERROR_CONFLICT"
    missing_cas = stub.Put(
        pb.StorageServicePutRequest(entry=_entry("ns", "nope", b"x", revision=1)), metadata=md
    )
    assert await _variant(missing_cas) == "STORAGE_ERROR_CONFLICT"
    unchanged = await stub.Get(pb.StorageServiceGetRequest(namespace="ns", key="k"), metadata=md)
    assert unchanged.entry.value == b"v3"

    await stub.Delete(pb.StorageServiceDeleteRequest(namespace="ns", key="k"), metadata=md)
    gone = stub.Get(pb.StorageServiceGetRequest(namespace="ns", key="k"), metadata=md)
    error = await _failure(gone)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert alga_errors.variant_from_error(error) is not None
    again = stub.Delete(pb.StorageServiceDeleteRequest(namespace="ns", key="k"), metadata=md)
    assert await _variant(again) == "STORAGE_ERROR_MISSING"
    # A key written again after its delete starts over at revision 1.
    reborn = await stub.Put(pb.StorageServicePutRequest(entry=_entry("ns", "k", b"")), metadata=md)
    assert reborn.entry.revision == 1


async def test_concurrent_compare_and_set_has_one_winner_per_revision(host: RealHost) -> None:
    """16 clients, each on a channel of its own, race a compare-and-set per revision."""
    md = await _kv(host, "acme", "kv-race")
    await _stub(host).Put(pb.StorageServicePutRequest(entry=_entry("ns", "k", b"0")), metadata=md)
    channels = [grpc.aio.insecure_channel(host.address) for _ in range(16)]
    try:
        for revision in range(1, 9):

            async def attempt(client: int, rev: int = revision) -> bool:
                stub = storage_pb2_grpc.StorageServiceStub(channels[client])
                request = pb.StorageServicePutRequest(
                    entry=_entry("ns", "k", f"{client}".encode(), revision=rev)
                )
                try:
                    reply = await stub.Put(request, metadata=md)
                except grpc.aio.AioRpcError as error:
                    variant = alga_errors.variant_from_error(error)
                    assert variant is not None
                    assert variant.name == "STORAGE_ERROR_CONFLICT"
                    return False
                assert reply.entry.revision == rev + 1
                return True

            won = await asyncio.gather(*(attempt(c) for c in range(len(channels))))
            assert sum(won) == 1, won
            winner = won.index(True)
            got = await _stub(host).Get(
                pb.StorageServiceGetRequest(namespace="ns", key="k"), metadata=md
            )
            assert (got.entry.revision, got.entry.value) == (revision + 1, f"{winner}".encode())
    finally:
        await asyncio.gather(*(c.close() for c in channels))


async def _put_all(
    stub: storage_pb2_grpc.StorageServiceStub, md: Metadata, keys: list[str], value: bytes
) -> None:
    """Write every key, a hundred at a time in flight."""
    for start in range(0, len(keys), 100):
        await asyncio.gather(
            *(
                stub.Put(pb.StorageServicePutRequest(entry=_entry("ns", key, value)), metadata=md)
                for key in keys[start : start + 100]
            )
        )


async def test_paging_1000_keys_while_others_are_written_and_deleted(host: RealHost) -> None:
    """Each of 1,000 pre-existing keys is listed exactly once, in key order, while
    clients on their own channels keep writing and deleting other keys of the
    namespace (between the existing ones, before the first, after the last) and
    rewriting existing ones. Every page waits for the churn to move first."""
    md = await _kv(host, "acme", "kv-pages")
    existing = [f"key-{i:04d}" for i in range(0, 2000, 2)]  # odd numbers: the gaps
    await _put_all(_stub(host), md, existing, b"x")
    stop, moved = asyncio.Event(), asyncio.Event()
    churned = [0]

    async def churn(task: int, tasks: int) -> None:
        async with grpc.aio.insecure_channel(host.address) as channel:
            stub = storage_pb2_grpc.StorageServiceStub(channel)
            i = task
            while not stop.is_set():
                # Keys of this task alone, so its own delete always finds its own write.
                for key in (f"key-{(2 * i + 1) % 2000:04d}", f"a-{i}", f"zz-{i}"):
                    await stub.Put(
                        pb.StorageServicePutRequest(entry=_entry("ns", key, b"o")), metadata=md
                    )
                    if i % 2:
                        await stub.Delete(
                            pb.StorageServiceDeleteRequest(namespace="ns", key=key), metadata=md
                        )
                await stub.Put(
                    pb.StorageServicePutRequest(entry=_entry("ns", existing[i % 1000], b"y")),
                    metadata=md,
                )
                i += tasks
                churned[0] += 1
                moved.set()

    churners = [asyncio.create_task(churn(t, 4)) for t in range(4)]
    listed: list[str] = []
    pages = 0
    try:
        cursor: str | None = None
        while True:
            moved.clear()
            await asyncio.wait_for(moved.wait(), WAIT_S)  # the churn ran before this page
            request = pb.StorageServiceListRequest(namespace="ns")  # the provider's page size
            if cursor is not None:
                request.cursor = cursor
            page = await _stub(host).List(request, metadata=md)
            pages += 1
            listed.extend(e.key for e in page.entries)
            if not page.HasField("next_cursor"):
                break
            assert page.next_cursor == page.entries[-1].key
            cursor = page.next_cursor
    finally:
        stop.set()
        await asyncio.gather(*churners)

    assert listed == sorted(set(listed))  # strictly ascending: nothing twice
    assert [key for key in listed if key in set(existing)] == existing
    assert pages >= len(existing) // DEFAULT_PAGE_SIZE
    assert churned[0] >= pages


async def test_list_page_sizes_and_the_end(host: RealHost) -> None:
    md = await _kv(host, "acme", "kv-sizes")
    stub = _stub(host)
    for i in range(130):
        await stub.Put(
            pb.StorageServicePutRequest(entry=_entry("ns", f"k{i:03d}", b"")), metadata=md
        )
    default = await stub.List(pb.StorageServiceListRequest(namespace="ns"), metadata=md)
    assert len(default.entries) == 25
    assert default.next_cursor == "k024"
    capped = await stub.List(
        pb.StorageServiceListRequest(namespace="ns", page_size=5000), metadata=md
    )
    assert len(capped.entries) == 100
    last = await stub.List(
        pb.StorageServiceListRequest(namespace="ns", cursor="k124", page_size=5), metadata=md
    )
    assert [e.key for e in last.entries] == [f"k{i}" for i in range(125, 130)]
    assert not last.HasField("next_cursor")
    assert all(e.HasField("revision") for e in last.entries)
    empty = await stub.List(pb.StorageServiceListRequest(namespace="other"), metadata=md)
    assert list(empty.entries) == []
    assert not empty.HasField("next_cursor")


async def test_installs_and_tenants_never_see_each_others_keys(host: RealHost) -> None:
    a = await _kv(host, "acme", "shared-id")
    other_install = await _kv(host, "acme", "other")
    other_tenant = await _kv(host, "globex", "shared-id")
    stub = _stub(host)
    for i in range(30):
        await stub.Put(
            pb.StorageServicePutRequest(entry=_entry("ns", f"a{i:02d}", b"A")), metadata=a
        )
    a_page = await stub.List(pb.StorageServiceListRequest(namespace="ns"), metadata=a)
    assert a_page.HasField("next_cursor")
    for md in (other_install, other_tenant):
        listed = await stub.List(pb.StorageServiceListRequest(namespace="ns"), metadata=md)
        assert list(listed.entries) == []
        with_a_cursor = await stub.List(
            pb.StorageServiceListRequest(namespace="ns", cursor=a_page.next_cursor), metadata=md
        )
        assert list(with_a_cursor.entries) == []
        get = stub.Get(pb.StorageServiceGetRequest(namespace="ns", key="a00"), metadata=md)
        assert await _variant(get) == "STORAGE_ERROR_MISSING"
        delete = stub.Delete(pb.StorageServiceDeleteRequest(namespace="ns", key="a00"), metadata=md)
        assert await _variant(delete) == "STORAGE_ERROR_MISSING"
        cas = stub.Put(
            pb.StorageServicePutRequest(entry=_entry("ns", "a00", b"B", revision=1)), metadata=md
        )
        assert await _variant(cas) == "STORAGE_ERROR_CONFLICT"
        # Its own write of the same key is its own entry.
        own = await stub.Put(
            pb.StorageServicePutRequest(entry=_entry("ns", "a00", b"B")), metadata=md
        )
        assert own.entry.revision == 1
    still = await stub.Get(pb.StorageServiceGetRequest(namespace="ns", key="a00"), metadata=a)
    assert (still.entry.value, still.entry.revision) == (b"A", 1)


async def test_without_the_capability_storage_is_denied(host: RealHost) -> None:
    md = await host.install("acme", "no-kv", ["cap:context.read"])
    stub = _stub(host)
    calls = [
        stub.Get(pb.StorageServiceGetRequest(namespace="ns", key="k"), metadata=md),
        stub.Put(pb.StorageServicePutRequest(entry=_entry("ns", "k", b"v")), metadata=md),
        stub.Delete(pb.StorageServiceDeleteRequest(namespace="ns", key="k"), metadata=md),
        stub.List(pb.StorageServiceListRequest(namespace="ns"), metadata=md),
    ]
    for call in calls:
        error = await _failure(call)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        info = error_info(error)
        assert info is not None
        assert info.reason == "STORAGE_ERROR_DENIED"
        assert info.domain == "alga.extension"


async def test_names_are_checked_and_the_field_named(host: RealHost) -> None:
    md = await _kv(host, "acme", "kv-names")
    stub = _stub(host)
    put = lambda ns, key: stub.Put(  # noqa: E731
        pb.StorageServicePutRequest(entry=_entry(ns, key, b"")), metadata=md
    )
    assert await _invalid_field(put("", "k")) == "entry.namespace"
    assert await _invalid_field(put("bad/ns", "k")) == "entry.namespace"
    assert await _invalid_field(put("n" * 65, "k")) == "entry.namespace"
    assert await _invalid_field(put("ns", "")) == "entry.key"
    assert await _invalid_field(put("ns", "line\nbreak")) == "entry.key"
    assert await _invalid_field(put("ns", "k" * 513)) == "entry.key"
    get = stub.Get(pb.StorageServiceGetRequest(namespace="ns", key=""), metadata=md)
    assert await _invalid_field(get) == "key"
    listing = stub.List(pb.StorageServiceListRequest(namespace="ns", cursor="\x00"), metadata=md)
    assert await _invalid_field(listing) == "cursor"
    fine = await put("a.b_c-D9", "k" * 512)
    assert fine.entry.revision == 1


async def test_the_installs_limits_are_enforced(host: RealHost) -> None:
    limits = installs_pb2.InstallLimits(
        storage_value_bytes=10, storage_keys_per_namespace=3, storage_bytes=25
    )
    md = await _kv(host, "acme", "kv-small", limits=limits)
    stub = _stub(host)

    def put(ns: str, key: str, value: bytes) -> Coroutine[Any, Any, Any]:
        return stub.Put(pb.StorageServicePutRequest(entry=_entry(ns, key, value)), metadata=md)

    assert await _invalid_field(put("ns", "big", b"x" * 11)) == "entry.value"
    for key in ("a", "b", "c"):
        await put("ns", key, b"x" * 5)
    assert await _invalid_field(put("ns", "d", b"")) == "entry.key"
    await put("ns", "a", b"x" * 10)  # a rewrite is not a new key: 20 bytes now
    await put("other", "a", b"x" * 5)  # 25 bytes: at the limit
    assert await _invalid_field(put("other", "b", b"x")) == "entry.value"
    await stub.Delete(pb.StorageServiceDeleteRequest(namespace="ns", key="a"), metadata=md)
    # The delete freed a key and 10 bytes.
    await put("ns", "d", b"x" * 10)


async def test_default_limits_are_alga_s(host: RealHost) -> None:
    md = await _kv(host, "acme", "kv-default")
    stub = _stub(host)
    fits = await stub.Put(
        pb.StorageServicePutRequest(entry=_entry("ns", "k", b"x" * 65536)), metadata=md
    )
    assert fits.entry.revision == 1
    over = stub.Put(pb.StorageServicePutRequest(entry=_entry("ns", "k", b"x" * 65537)), metadata=md)
    assert await _invalid_field(over) == "entry.value"


async def test_concurrent_new_keys_stop_exactly_at_the_namespace_limit(host: RealHost) -> None:
    """20 clients on their own channels each add a key to a namespace allowed 5."""
    limits = installs_pb2.InstallLimits(storage_keys_per_namespace=5)
    md = await _kv(host, "acme", "kv-crowd", limits=limits)
    channels = [grpc.aio.insecure_channel(host.address) for _ in range(20)]

    async def add(client: int) -> bool:
        stub = storage_pb2_grpc.StorageServiceStub(channels[client])
        request = pb.StorageServicePutRequest(entry=_entry("ns", f"key-{client:02d}", b"v"))
        try:
            await stub.Put(request, metadata=md)
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return False
        return True

    try:
        added = await asyncio.gather(*(add(c) for c in range(len(channels))))
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    listed = await _stub(host).List(pb.StorageServiceListRequest(namespace="ns"), metadata=md)
    assert sum(added) == 5, added
    assert [e.key for e in listed.entries] == [f"key-{c:02d}" for c, won in enumerate(added) if won]


async def test_two_replicas_on_one_store_have_one_winner_per_revision(
    host: RealHost, database_url: str, tmp_path: Path
) -> None:
    """Clients split across two host services sharing the store and the key ring."""
    md = await _kv(host, "acme", "kv-replicas")
    await _stub(host).Put(pb.StorageServicePutRequest(entry=_entry("ns", "k", b"0")), metadata=md)
    async with serve_real_host(
        database_url, tmp_path / "replica", token_key_dir=host.service.token_key_dir
    ) as replica:
        addresses = [host.address, replica.address] * 6
        channels = [grpc.aio.insecure_channel(address) for address in addresses]
        try:
            for revision in range(1, 6):

                async def attempt(client: int, rev: int = revision) -> bool:
                    stub = storage_pb2_grpc.StorageServiceStub(channels[client])
                    request = pb.StorageServicePutRequest(
                        entry=_entry("ns", "k", f"{client}".encode(), revision=rev)
                    )
                    try:
                        await stub.Put(request, metadata=md)
                    except grpc.aio.AioRpcError as error:
                        variant = alga_errors.variant_from_error(error)
                        if variant is None or variant.name != "STORAGE_ERROR_CONFLICT":
                            raise
                        return False
                    return True

                won = await asyncio.gather(*(attempt(c) for c in range(len(channels))))
                assert sum(won) == 1, won
                for served in (host, replica):
                    got = await _stub(served).Get(
                        pb.StorageServiceGetRequest(namespace="ns", key="k"), metadata=md
                    )
                    assert (got.entry.revision, got.entry.value) == (
                        revision + 1,
                        f"{won.index(True)}".encode(),
                    )
        finally:
            await asyncio.gather(*(c.close() for c in channels))


async def test_keys_sort_in_utf8_byte_order_on_both_backends(host: RealHost) -> None:
    """Not a locale's order: upper case before lower, accents and other scripts after
    ASCII, astral characters last; paging by each one as a cursor keeps that order."""
    md = await _kv(host, "acme", "kv-order")
    keys = ["b", "B", "a", "A", "_", "~", "é", "e", "z", "Ω", "中", "😀", "\uffee", "a b", "a-b"]
    await _put_all(_stub(host), md, keys, b"")
    listed: list[str] = []
    cursor: str | None = None
    while True:
        request = pb.StorageServiceListRequest(namespace="ns", page_size=2)
        if cursor is not None:
            request.cursor = cursor
        page = await _stub(host).List(request, metadata=md)
        listed.extend(e.key for e in page.entries)
        if not page.HasField("next_cursor"):
            break
        cursor = page.next_cursor
    assert listed == sorted(keys, key=lambda key: key.encode())
    assert listed[:4] == ["A", "B", "_", "a"]
