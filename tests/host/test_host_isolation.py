"""Tenant and install isolation of the real host providers, on both backends.

Four installs write the same namespaces and keys: tenant A's a1 and a2, and
tenant B's b1 and a1 (the same install id in another tenant). For every
ordered (reader, owner) pair, nothing the reader reads or lists ever shows
the owner's data, whatever namespace, key or cursor it sends, the owner's own
list cursors included (refused as invalid input, or reading the reader's own
data only); and the owner's data is still there, untouched.

One `Isolation` per provider: a provider that keeps per-install data (secrets,
clients, services) is covered by adding its class to PROVIDERS.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import pytest
from host_support import ADMIN_TOKEN
from real_host import Metadata, RealHost, serve_real_host
from ui_proxy_support import Answer, Upstream, serve_upstream

from extplane_client import CatalogsClient, ExtensionLogsClient, InstallsClient, alga_errors
from extplane_client.secrets_admin import SecretsAdminClient
from extplane_protos.alga.extension.v1 import (
    clients_pb2,
    clients_pb2_grpc,
    logging_pb2,
    logging_pb2_grpc,
    secrets_pb2,
    secrets_pb2_grpc,
    services_pb2,
    services_pb2_grpc,
    storage_pb2,
    storage_pb2_grpc,
    types_pb2,
    ui_proxy_pb2,
    ui_proxy_pb2_grpc,
)
from extplane_protos.extplane.admin.v1 import installs_pb2


@dataclass(frozen=True)
class Party:
    tenant: str
    install_id: str

    @property
    def label(self) -> str:
        return f"{self.tenant}-{self.install_id}"


PARTIES = {
    "A/a1": Party("tenant-a", "a1"),
    "A/a2": Party("tenant-a", "a2"),
    "B/b1": Party("tenant-b", "b1"),
    "B/a1": Party("tenant-b", "a1"),
}


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class World:
    """The host, each party's token, and what each provider noted of each party's writes."""

    host: RealHost
    tokens: dict[str, Metadata]
    extension_logs: _Captured
    written: dict[tuple[str, str], Any] = field(default_factory=dict)


class Isolation(Protocol):
    name: str
    capabilities: tuple[str, ...]

    async def write(self, world: World, party: str) -> Any:
        """Write `party`'s data; what the checks need of it (its cursors, say)."""

    async def check(self, world: World, reader: str, owner: str) -> None:
        """`reader` sees none of `owner`'s data, and `owner` still sees all of it."""


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


def _variant(error: grpc.aio.AioRpcError) -> str | None:
    found = alga_errors.variant_from_error(error)
    return None if found is None else found.name


SHARED_KEYS = [f"k{i:02d}" for i in range(30)]
PRIVATE_KEYS = [f"p{i:02d}" for i in range(12)]


def _private(party: str) -> str:
    """The namespace only `party` writes."""
    return f"only-{PARTIES[party].label}"


class Storage:
    name = "storage"
    capabilities = ("cap:storage.kv",)

    def _stub(self, world: World) -> storage_pb2_grpc.StorageServiceStub:
        return storage_pb2_grpc.StorageServiceStub(world.host.channel)

    @staticmethod
    def _value(party: str, key: str) -> bytes:
        return f"{PARTIES[party].label}:{key}".encode()

    async def write(self, world: World, party: str) -> dict[str, str]:
        stub, md = self._stub(world), world.tokens[party]
        writes = [("shared", key) for key in SHARED_KEYS]
        writes += [(_private(party), key) for key in PRIVATE_KEYS]
        await asyncio.gather(
            *(
                stub.Put(
                    storage_pb2.StorageServicePutRequest(
                        entry=types_pb2.StorageEntry(
                            namespace=ns, key=key, value=self._value(party, key)
                        )
                    ),
                    metadata=md,
                )
                for ns, key in writes
            )
        )
        cursors = {}
        for ns in ("shared", _private(party)):
            page = await stub.List(
                storage_pb2.StorageServiceListRequest(namespace=ns, page_size=5), metadata=md
            )
            assert page.HasField("next_cursor")
            cursors[ns] = page.next_cursor
        return cursors

    async def _list(
        self, world: World, party: str, namespace: str, cursor: str | None = None
    ) -> list[types_pb2.StorageEntry] | grpc.aio.AioRpcError:
        """Every entry `party` lists from `cursor` on, paged to the end; or the refusal."""
        stub, md = self._stub(world), world.tokens[party]
        entries: list[types_pb2.StorageEntry] = []
        while True:
            request = storage_pb2.StorageServiceListRequest(namespace=namespace, page_size=7)
            if cursor is not None:
                request.cursor = cursor
            try:
                page = await stub.List(request, metadata=md)
            except grpc.aio.AioRpcError as error:
                assert not entries  # a refusal comes at once or never
                return error
            entries.extend(page.entries)
            if not page.HasField("next_cursor"):
                return entries
            cursor = page.next_cursor

    def _only_own(
        self, found: list[types_pb2.StorageEntry] | grpc.aio.AioRpcError, reader: str
    ) -> list[str] | None:
        """The keys listed, each checked to be `reader`'s own entry; None: refused
        as invalid input (no other refusal is acceptable)."""
        if isinstance(found, grpc.aio.AioRpcError):
            assert found.code() is grpc.StatusCode.INVALID_ARGUMENT, found
            return None
        for entry in found:
            assert entry.value == self._value(reader, entry.key), (reader, entry)
        return [entry.key for entry in found]

    async def check(self, world: World, reader: str, owner: str) -> None:
        stub, md = self._stub(world), world.tokens[reader]
        owner_cursors: dict[str, str] = world.written[(self.name, owner)]

        # Its own namespaces, in full: its own entries, no one else's.
        assert self._only_own(await self._list(world, reader, "shared"), reader) == SHARED_KEYS
        # The owner's cursors: refused, or the reader's own entries after that key.
        for ns, cursor in owner_cursors.items():
            listed = self._only_own(await self._list(world, reader, ns, cursor), reader)
            own_keys = SHARED_KEYS if ns == "shared" else []
            assert listed is None or listed == [k for k in own_keys if k > cursor], (ns, listed)
        # The owner's namespace holds nothing of the reader's.
        assert self._only_own(await self._list(world, reader, _private(owner)), reader) == []

        got = await stub.Get(
            storage_pb2.StorageServiceGetRequest(namespace="shared", key="k00"), metadata=md
        )
        assert got.entry.value == self._value(reader, "k00")
        theirs = storage_pb2.StorageServiceGetRequest(namespace=_private(owner), key="p00")
        assert _variant(await _refused(stub.Get(theirs, metadata=md))) == "STORAGE_ERROR_MISSING"
        delete = storage_pb2.StorageServiceDeleteRequest(namespace=_private(owner), key="p00")
        assert _variant(await _refused(stub.Delete(delete, metadata=md))) == "STORAGE_ERROR_MISSING"
        # A compare-and-set at the owner's revision finds no entry of the reader's.
        cas = storage_pb2.StorageServicePutRequest(
            entry=types_pb2.StorageEntry(
                namespace=_private(owner), key="p00", value=b"overwritten", revision=1
            )
        )
        assert _variant(await _refused(stub.Put(cas, metadata=md))) == "STORAGE_ERROR_CONFLICT"

        # The owner's data is all there, unchanged.
        assert self._only_own(await self._list(world, owner, "shared"), owner) == SHARED_KEYS
        assert self._only_own(await self._list(world, owner, _private(owner)), owner) == (
            PRIVATE_KEYS
        )


@contextmanager
def _captured_extension_logs() -> Iterator[_Captured]:
    handler = _Captured()
    logger = logging.getLogger("extplane.extension")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class Logs:
    """What an operator reads of an install's logs: the host's recent records of
    it, and the records of the `extplane.extension` logger tagged with it."""

    name = "logs"
    capabilities = ("cap:log.emit",)
    LEVELS = ("info", "warn", "error")

    @staticmethod
    def _message(party: str, level: str) -> str:
        return f"{PARTIES[party].label} says {level}"

    async def write(self, world: World, party: str) -> None:
        stub = logging_pb2_grpc.LoggingServiceStub(world.host.channel)
        md = world.tokens[party]
        await stub.Info(
            logging_pb2.LoggingServiceInfoRequest(message=self._message(party, "info")), metadata=md
        )
        await stub.Warn(
            logging_pb2.LoggingServiceWarnRequest(message=self._message(party, "warn")), metadata=md
        )
        await stub.Error(
            logging_pb2.LoggingServiceErrorRequest(message=self._message(party, "error")),
            metadata=md,
        )

    def _recent(self, world: World, party: str) -> list[tuple[str, str]]:
        at = PARTIES[party]
        records = world.host.service.logs.recent.of(at.tenant, at.install_id)
        for record in records:
            assert (record.tenant_id, record.install_id) == (at.tenant, at.install_id)
            assert record.extension_id == f"com.example.{at.install_id}"
        return [(record.level, record.message) for record in records]

    async def _queried(self, world: World, party: str) -> list[tuple[str, str]]:
        at = PARTIES[party]
        async with ExtensionLogsClient(world.host.address, token=ADMIN_TOKEN) as operator:
            page = await operator.list_extension_logs(tenant=at.tenant, install_id=at.install_id)
        for record in page.records:
            assert (record.tenant, record.install_id) == (at.tenant, at.install_id)
        return [(record.message.rsplit(" says ", 1)[1], record.message) for record in page.records]

    async def check(self, world: World, reader: str, owner: str) -> None:
        for party in (reader, owner):
            assert await self._queried(world, party) == [
                (level, self._message(party, level)) for level in self.LEVELS
            ]
        for party in (reader, owner):
            assert self._recent(world, party) == [
                (level, self._message(party, level)) for level in self.LEVELS
            ]
        for party in (reader, owner):
            at = PARTIES[party]
            tagged = [
                r.getMessage()
                for r in world.extension_logs.records
                if (getattr(r, "tenant_id", None), getattr(r, "install_id", None))
                == (at.tenant, at.install_id)
            ]
            assert [message.split(": ", 1)[1] for message in tagged] == [
                self._message(party, level) for level in self.LEVELS
            ]


class Secrets:
    """Each party's secrets, set by the operator under the same names; `Get` and
    `List` with a reader's token answer the reader's own, whatever name it asks."""

    name = "secrets"
    capabilities = ("cap:secrets.get",)
    NAMES = ("API_KEY", "shared/token")

    @staticmethod
    def _value(party: str, name: str) -> str:
        return f"{PARTIES[party].label}:{name}:value"

    def _stub(self, world: World) -> secrets_pb2_grpc.SecretsServiceStub:
        return secrets_pb2_grpc.SecretsServiceStub(world.host.channel)

    async def write(self, world: World, party: str) -> None:
        at = PARTIES[party]
        async with SecretsAdminClient(world.host.address, token=ADMIN_TOKEN) as admin:
            for name in (*self.NAMES, f"only-{at.label}"):
                await admin.set_secret(
                    tenant=at.tenant,
                    install_id=at.install_id,
                    key=name,
                    value=self._value(party, name),
                )

    async def check(self, world: World, reader: str, owner: str) -> None:
        stub, md = self._stub(world), world.tokens[reader]
        listed = await stub.List(secrets_pb2.SecretsServiceListRequest(), metadata=md)
        assert list(listed.keys) == sorted((*self.NAMES, f"only-{PARTIES[reader].label}"))
        for name in self.NAMES:
            got = await stub.Get(secrets_pb2.SecretsServiceGetRequest(key=name), metadata=md)
            assert got.value == self._value(reader, name)
        owner_label = PARTIES[owner].label
        # The owner's own name, and spellings that try to reach the owner's row by path.
        for name in (
            f"only-{owner_label}",
            f"{PARTIES[owner].tenant}/{PARTIES[owner].install_id}/API_KEY",
        ):
            refused = await _refused(
                stub.Get(secrets_pb2.SecretsServiceGetRequest(key=name), metadata=md)
            )
            assert _variant(refused) == "SECRET_ERROR_MISSING", refused
            assert self._value(owner, "API_KEY") not in (refused.details() or "")
        own = await stub.Get(
            secrets_pb2.SecretsServiceGetRequest(key="API_KEY"), metadata=world.tokens[owner]
        )
        assert own.value == self._value(owner, "API_KEY")


class Catalogs:
    """The clients and services catalogs belong to a tenant, not an install: two
    installs of one tenant read the same catalog, another tenant's never."""

    name = "catalogs"
    capabilities = ("cap:client.read", "cap:service.read")

    @staticmethod
    def _rows(tenant: str) -> tuple[bytes, bytes]:
        clients = [
            {"client_id": "c-shared", "client_name": f"Shared of {tenant}", "is_inactive": False},
            {"client_id": f"c-{tenant}", "client_name": f"Own {tenant}", "is_inactive": False,
             "billing_email": f"billing@{tenant}.example"},
        ]  # fmt: skip
        services = [
            {"service_id": sid, "service_name": f"{label} {tenant}", "item_kind": "service",
             "billing_method": "hourly", "default_rate": 1.0, "unit_of_measure": "hour",
             "is_active": True, "sku": f"SKU-{sid}"}
            for sid, label in (("s-shared", "Shared"), (f"s-{tenant}", "Own"))
        ]  # fmt: skip
        return json.dumps(clients).encode(), json.dumps(services).encode()

    async def write(self, world: World, party: str) -> None:
        tenant = PARTIES[party].tenant
        clients, services = self._rows(tenant)
        async with CatalogsClient(world.host.address, token=ADMIN_TOKEN) as admin:
            await admin.load_clients(tenant=tenant, content=clients, file_format="json")
            await admin.load_services(tenant=tenant, content=services, file_format="json")

    async def check(self, world: World, reader: str, owner: str) -> None:
        mine, theirs = PARTIES[reader].tenant, PARTIES[owner].tenant
        md = world.tokens[reader]
        clients = clients_pb2_grpc.ClientsServiceStub(world.host.channel)
        services = services_pb2_grpc.ServicesServiceStub(world.host.channel)
        listed = await clients.ListClients(clients_pb2.ListClientsRequest(), metadata=md)
        assert sorted(c.client_id for c in listed.result.items) == sorted(["c-shared", f"c-{mine}"])
        assert listed.result.total_count == 2
        shared = await clients.GetClient(
            clients_pb2.GetClientRequest(client_id="c-shared"), metadata=md
        )
        assert shared.client.client_name == f"Shared of {mine}"
        offered = await services.ListServices(services_pb2.ListServicesRequest(), metadata=md)
        assert sorted(s.service_id for s in offered.result.items) == sorted(
            ["s-shared", f"s-{mine}"]
        )
        if mine == theirs:
            return  # one tenant, one catalog: nothing to hide between its installs
        # The other tenant's own ids, names, emails and SKUs reach nothing.
        other = await clients.GetClient(
            clients_pb2.GetClientRequest(client_id=f"c-{theirs}"), metadata=md
        )
        assert not other.HasField("client")
        other_service = await services.GetService(
            services_pb2.GetServiceRequest(service_id=f"s-{theirs}"), metadata=md
        )
        assert not other_service.HasField("service")
        for search in (theirs, f"billing@{theirs}.example", f"Own {theirs}"):
            found = await clients.ListClients(
                clients_pb2.ListClientsRequest(input=types_pb2.ClientsListInput(search=search)),
                metadata=md,
            )
            assert (list(found.result.items), found.result.total_count) == ([], 0), search
        found_services = await services.ListServices(
            services_pb2.ListServicesRequest(
                input=types_pb2.ServicesListInput(search=f"SKU-s-{theirs}")
            ),
            metadata=md,
        )
        assert list(found_services.result.items) == []


class UiProxy:
    """Each party's routes: `shared` (every party has one) and `only-<label>`, all
    to one loopback upstream that echoes the path and the caller's identity. A
    reader's call reaches its own routes only, never the owner's."""

    name = "ui-proxy"
    capabilities = ("cap:ui.proxy",)
    upstream: Upstream | None = None

    def _base(self) -> str:
        assert self.upstream is not None, "the module's _ui_proxy_upstream fixture serves it"
        return self.upstream.base_url

    async def write(self, world: World, party: str) -> None:
        at = PARTIES[party]
        routes = [
            installs_pb2.UiProxyRoute(route="shared", upstream_url=f"{self._base()}/{at.label}"),
            installs_pb2.UiProxyRoute(
                route=f"only-{at.label}", upstream_url=f"{self._base()}/{at.label}/only"
            ),
        ]
        async with InstallsClient(world.host.address, token=ADMIN_TOKEN) as admin:
            current = await admin.get_install(tenant=at.tenant, install_id=at.install_id)
            await admin.update_install(
                tenant=at.tenant,
                install_id=at.install_id,
                revision=current.revision,
                ui_proxy_routes=routes,
            )

    async def _call(self, world: World, party: str, route: str) -> bytes | grpc.aio.AioRpcError:
        stub = ui_proxy_pb2_grpc.UiProxyServiceStub(world.host.channel)
        request = ui_proxy_pb2.UiProxyServiceCallRequest(route=route)
        try:
            reply = await stub.Call(request, metadata=world.tokens[party])
        except grpc.aio.AioRpcError as error:
            return error
        return reply.payload

    async def check(self, world: World, reader: str, owner: str) -> None:
        me, them = PARTIES[reader], PARTIES[owner]
        assert await self._call(world, reader, "shared/x") == (
            f"/{me.label}/x {me.tenant} {me.install_id}".encode()
        )
        for route in (f"only-{them.label}", f"only-{them.label}/x"):
            refused = await self._call(world, reader, route)
            assert isinstance(refused, grpc.aio.AioRpcError), (route, refused)
            assert _variant(refused) == "PROXY_ERROR_ROUTE_NOT_FOUND", refused
        assert await self._call(world, owner, f"only-{them.label}") == (
            f"/{them.label}/only {them.tenant} {them.install_id}".encode()
        )


UI_PROXY = UiProxy()


@pytest.fixture(autouse=True)
def _ui_proxy_upstream() -> Iterator[None]:
    with serve_upstream(default=Answer(echo=True)) as upstream:
        UI_PROXY.upstream = upstream
        try:
            yield
        finally:
            UI_PROXY.upstream = None


PROVIDERS: dict[str, Isolation] = {
    "storage": Storage(),
    "logs": Logs(),
    "secrets": Secrets(),
    "catalogs": Catalogs(),
    "ui-proxy": UI_PROXY,
}
PAIRS = [
    (provider, reader, owner)
    for provider in PROVIDERS
    for reader, owner in itertools.permutations(PARTIES, 2)
]


@pytest.mark.parametrize(("provider", "reader", "owner"), PAIRS)
async def test_a_reader_never_sees_the_owners_data(
    provider: str, reader: str, owner: str, database_url: str, tmp_path: Path
) -> None:
    with _captured_extension_logs() as captured:
        async with serve_real_host(database_url, tmp_path / "data") as host:
            capabilities = sorted(
                {cap for isolation in PROVIDERS.values() for cap in isolation.capabilities}
            )
            tokens = {
                name: await host.install(party.tenant, party.install_id, capabilities)
                for name, party in PARTIES.items()
            }
            world = World(host, tokens, captured)
            isolation = PROVIDERS[provider]
            # Every party writes, not only the pair: a leak from any third party shows too.
            for party in PARTIES:
                world.written[(isolation.name, party)] = await isolation.write(world, party)
            await isolation.check(world, reader, owner)


async def test_one_installs_limits_never_bind_another(database_url: str, tmp_path: Path) -> None:
    """A/a1 is at its storage and log limits; a2 of its tenant and a1 of the other
    tenant (the same install id) write and log as if it were not there."""
    tight = installs_pb2.InstallLimits(
        storage_keys_per_namespace=2, storage_bytes=10, log_records_per_minute=2
    )
    caps = sorted({cap for isolation in PROVIDERS.values() for cap in isolation.capabilities})
    async with serve_real_host(database_url, tmp_path / "data") as host:
        full = await host.install("tenant-a", "a1", caps, limits=tight)
        others = {
            name: await host.install(PARTIES[name].tenant, PARTIES[name].install_id, caps)
            for name in ("A/a2", "B/a1")
        }
        storage = storage_pb2_grpc.StorageServiceStub(host.channel)
        logs = logging_pb2_grpc.LoggingServiceStub(host.channel)

        def put(key: str, value: bytes, md: Metadata) -> Any:
            entry = types_pb2.StorageEntry(namespace="ns", key=key, value=value)
            return storage.Put(storage_pb2.StorageServicePutRequest(entry=entry), metadata=md)

        for key in ("k0", "k1"):
            await put(key, b"12345", full)
        assert (await _refused(put("k2", b"", full))).code() is grpc.StatusCode.INVALID_ARGUMENT
        for i in range(5):
            await logs.Info(logging_pb2.LoggingServiceInfoRequest(message=f"a1 {i}"), metadata=full)

        for md in others.values():
            for i in range(5):
                await put(f"k{i}", b"x" * 64, md)
                await logs.Info(logging_pb2.LoggingServiceInfoRequest(message=f"{i}"), metadata=md)
            listed = await storage.List(
                storage_pb2.StorageServiceListRequest(namespace="ns"), metadata=md
            )
            assert [e.key for e in listed.entries] == [f"k{i}" for i in range(5)]

    recent = host.service.logs.recent
    assert [r.message for r in recent.of("tenant-a", "a1")] == ["a1 0", "a1 1"]
    for name in others:
        kept = recent.of(PARTIES[name].tenant, PARTIES[name].install_id)
        assert [r.message for r in kept] == [f"{i}" for i in range(5)]
