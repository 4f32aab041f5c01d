"""The `clients` and `services` providers and their loader over the real wire,
on both backends: files loaded through CatalogAdminService, read back with an
install token issued by the registry, as a runner does.

Loads (JSON, CSV, kebab-case keys), refusals naming row and field that leave
the previous catalog intact, search/filters/paging/order, invalid input as
the WIT variant, an unknown id as the empty option, tenant isolation, roles,
the audit event of each load.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
from catalog_support import (
    CLIENT_READ,
    SERVICE_READ,
    Host,
    as_csv,
    as_json,
    client_row,
    serve_catalog_host,
    service_row,
)
from host_support import OTHER_TOKEN, READER_TOKEN

from extplane.host.catalogs.catalog_file import MAX_FILE_BYTES, MAX_ROWS
from extplane_client import CatalogsError, alga_errors
from extplane_protos.alga.extension.v1 import clients_pb2, services_pb2, types_pb2

SERVICE_COLUMNS = (
    "service_id", "service_name", "item_kind", "billing_method", "service_type_id",
    "service_type_name", "default_rate", "unit_of_measure", "is_active", "sku",
)  # fmt: skip


@pytest.fixture
async def host(database_url: str, tmp_path: Path) -> AsyncIterator[Host]:
    async with serve_catalog_host(database_url, tmp_path / "data") as running:
        yield running


async def _failure(call: Coroutine[Any, Any, Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _variant(call: Coroutine[Any, Any, Any]) -> tuple[str, str]:
    error = await _failure(call)
    found = alga_errors.variant_from_error(error)
    assert found is not None, error
    return found.name, error.details() or ""


async def _refused(call: Coroutine[Any, Any, Any]) -> CatalogsError:
    with pytest.raises(CatalogsError) as caught:
        await call
    return caught.value


def _clients(**given: Any) -> clients_pb2.ListClientsRequest:
    return clients_pb2.ListClientsRequest(input=types_pb2.ClientsListInput(**given))


def _services(**given: Any) -> services_pb2.ListServicesRequest:
    return services_pb2.ListServicesRequest(input=types_pb2.ServicesListInput(**given))


ACME_CLIENTS = [
    client_row("c-3", "Zeta Corp", billing_email="ap@zeta.example"),
    client_row("c-1", "acme Widgets", client_type="company", default_currency_code="EUR"),
    client_row("c-2", "Acme Widgets", account_manager_id="u-9", account_manager_name="Ana"),
    client_row("c-4", "Old Client", is_inactive=True),
    client_row("c-5", "Percent 100% Ltd", billing_email="billing@pct.example"),
    client_row("c-6", "Under_score Inc"),
]


async def test_load_json_then_list_get_and_count(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    async with host.admin() as admin:
        loaded = await admin.load_clients(
            tenant="acme", content=as_json(ACME_CLIENTS), file_format="json"
        )
        assert (loaded.client_count, loaded.previous_count) == (6, 0)
        counts = await admin.get_catalog_counts(tenant="acme")
        assert (counts.client_count, counts.service_count) == (6, 0)

    listed = (await host.clients().ListClients(_clients(), metadata=md)).result
    # Inactive left out by default; by folded name, then id.
    assert [c.client_id for c in listed.items] == ["c-1", "c-2", "c-5", "c-6", "c-3"]
    assert (listed.total_count, listed.page, listed.page_size) == (5, 1, 25)
    everyone = await host.clients().ListClients(_clients(include_inactive=True), metadata=md)
    assert everyone.result.total_count == 6

    got = await host.clients().GetClient(clients_pb2.GetClientRequest(client_id="c-1"), metadata=md)
    assert got.HasField("client")
    assert got.client.client_name == "acme Widgets"
    assert got.client.client_type == "company"
    assert got.client.default_currency_code == "EUR"
    assert not got.client.HasField("billing_email")  # an option left out stays none
    inactive = await host.clients().GetClient(
        clients_pb2.GetClientRequest(client_id="c-4"), metadata=md
    )
    assert inactive.client.is_inactive  # get reads inactive clients too


async def test_load_csv_services_with_filters(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    rows = [
        service_row("s-1", "Backup", sku="BK-1", billing_method="fixed", default_rate=49.5),
        service_row("s-2", "Laptop", item_kind="product", billing_method="usage", sku="LP-2"),
        service_row("s-3", "Helpdesk", service_type_id="t-1", service_type_name="Support"),
        service_row("s-4", "Legacy backup", is_active=False, sku="bk-9"),
    ]
    async with host.admin() as admin:
        loaded = await admin.load_services(
            tenant="acme", content=as_csv(rows, SERVICE_COLUMNS), file_format="csv"
        )
    assert loaded.service_count == 4
    stub = host.services()

    async def ids(**given: Any) -> list[str]:
        answer = await stub.ListServices(_services(**given), metadata=md)
        assert answer.result.total_count == len(answer.result.items)
        return [s.service_id for s in answer.result.items]

    assert await ids() == ["s-1", "s-3", "s-2", "s-4"]  # no default activity filter
    assert await ids(is_active=True) == ["s-1", "s-3", "s-2"]
    assert await ids(is_active=False) == ["s-4"]
    assert await ids(item_kind=types_pb2.SERVICE_ITEM_KIND_PRODUCT) == ["s-2"]
    assert await ids(billing_method=types_pb2.SERVICE_BILLING_METHOD_HOURLY) == ["s-3", "s-4"]
    assert await ids(search="bk") == ["s-1", "s-4"]  # sku, case-insensitively
    assert await ids(search="BACKUP", is_active=True) == ["s-1"]

    got = await stub.GetService(services_pb2.GetServiceRequest(service_id="s-3"), metadata=md)
    assert got.service.item_kind == types_pb2.SERVICE_ITEM_KIND_SERVICE
    assert got.service.billing_method == types_pb2.SERVICE_BILLING_METHOD_HOURLY
    assert (got.service.service_type_id, got.service.service_type_name) == ("t-1", "Support")
    assert got.service.default_rate == 100.0
    assert not got.service.HasField("sku")
    first = await stub.GetService(services_pb2.GetServiceRequest(service_id="s-1"), metadata=md)
    assert (first.service.default_rate, first.service.sku) == (49.5, "BK-1")
    assert first.service.billing_method == types_pb2.SERVICE_BILLING_METHOD_FIXED


async def test_kebab_case_keys_and_a_reload_replaces_the_whole_catalog(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    kebab = [{"client-id": "k-1", "client-name": "Kebab", "is-inactive": False}]
    async with host.admin() as admin:
        await admin.load_clients(tenant="acme", content=as_json(ACME_CLIENTS), file_format="json")
        again = await admin.load_clients(tenant="acme", content=as_json(kebab), file_format="json")
        assert (again.client_count, again.previous_count) == (1, 6)
    listed = (await host.clients().ListClients(_clients(), metadata=md)).result
    assert [c.client_id for c in listed.items] == ["k-1"]
    gone = await host.clients().GetClient(
        clients_pb2.GetClientRequest(client_id="c-1"), metadata=md
    )
    assert not gone.HasField("client")
    async with host.admin() as admin:
        cleared = await admin.load_clients(tenant="acme", content=b"[]", file_format="json")
    assert (cleared.client_count, cleared.previous_count) == (0, 1)


BAD_CLIENT_FILES = [
    (
        [client_row("a", "A"), client_row("b", "B", billing_email="not-an-email")],
        "content.rows[2].billing_email",
        "row 2: billing_email: not an email address",
    ),
    ([client_row("a", "A"), client_row("a", "B")], "content.rows[2].client_id", "repeats row 1"),
    ([{"client_id": "a", "client_name": "A"}], "content.rows[1].is_inactive", "required"),
    ([client_row("a", "A", is_inactive="no")], "content.rows[1].is_inactive", "true or false"),
    ([client_row("a", "")], "content.rows[1].client_name", "required"),
    ([client_row("a", "x" * 257)], "content.rows[1].client_name", "at most 256"),
    ([client_row("a", "A", default_currency_code="eur")], "content.rows[1].default_currency_code",
     "ISO 4217"),
    ([client_row("a", "A", colour="red")], "content.rows[1].colour", "not a field"),
    ([client_row("a", "A\x00")], "content.rows[1].client_name", "control characters"),
    ([client_row("a", "A", **{"client-name": "B"})], "content.rows[1].client_name", "twice"),
    ([client_row("a", "A"), "just text"], "content.rows[2]", "must be an object"),
    ([client_row("a", "A", client_id=7)], "content.rows[1].client_id", "must be a string"),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "field", "says"), BAD_CLIENT_FILES)
async def test_a_bad_client_file_is_refused_whole(
    host: Host, rows: list[Any], field: str, says: str
) -> None:
    md = await host.token("acme", "cat-1")
    async with host.admin() as admin:
        await admin.load_clients(tenant="acme", content=as_json(ACME_CLIENTS), file_format="json")
        refused = await _refused(
            admin.load_clients(tenant="acme", content=as_json(rows), file_format="json")
        )
        assert refused.code is grpc.StatusCode.INVALID_ARGUMENT
        assert field in refused.field_violations, refused.field_violations
        assert says in f"{refused.details} {refused.field_violations[field]}"
        assert (await admin.get_catalog_counts(tenant="acme")).client_count == 6
    # The previous catalog is intact, row for row.
    listed = (await host.clients().ListClients(_clients(include_inactive=True), metadata=md)).result
    assert sorted(c.client_id for c in listed.items) == ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6"]
    assert len(host.loads()) == 1  # the good load only


BAD_SERVICE_CSV = [
    ("service_id,service_name\n", "content.header", "no column for required field item_kind"),
    (",".join(SERVICE_COLUMNS) + ",colour\n", "content.header", "'colour' is not a field"),
    ("", "content", "required"),
    ("\n", "content.header", "header row"),
]


@pytest.mark.parametrize(("text", "field", "says"), BAD_SERVICE_CSV)
async def test_a_bad_csv_header_is_refused(host: Host, text: str, field: str, says: str) -> None:
    async with host.admin() as admin:
        refused = await _refused(
            admin.load_services(tenant="acme", content=text.encode(), file_format="csv")
        )
    assert refused.code is grpc.StatusCode.INVALID_ARGUMENT
    assert says in refused.field_violations[field]


async def test_every_bad_service_row_is_named(host: Host) -> None:
    rows = [
        service_row("s-1", "Fine"),
        service_row("s-2", "Kind", item_kind="goods"),
        service_row("s-3", "Billing", billing_method="monthly"),
        service_row("s-4", "Rate", default_rate="lots"),
        service_row("s-5", "Negative", default_rate=-1),
        service_row("s-6", "Active", is_active="maybe"),
        service_row("s-7", "Unit", unit_of_measure=""),
    ]
    content = as_csv(rows, SERVICE_COLUMNS) + b"s-8,short row\n"
    async with host.admin() as admin:
        refused = await _refused(
            admin.load_services(tenant="acme", content=content, file_format="csv")
        )
        assert (await admin.get_catalog_counts(tenant="acme")).service_count == 0
    assert refused.details.startswith("row 2: item_kind: must be one of service, product")
    assert "(and 6 more)" in refused.details
    assert set(refused.field_violations) == {
        "content.rows[2].item_kind",
        "content.rows[3].billing_method",
        "content.rows[4].default_rate",
        "content.rows[5].default_rate",
        "content.rows[6].is_active",
        "content.rows[7].unit_of_measure",
        "content.rows[8]",
    }
    assert "fixed, hourly, usage" in refused.field_violations["content.rows[3].billing_method"]


async def test_file_level_refusals(host: Host) -> None:
    async with host.admin() as admin:
        for content, file_format, says in (
            (b"{not json", "json", "not JSON"),
            (b'{"client_id": "a"}', "json", "JSON array"),
            (b"\xff\xfe[]", "json", "not UTF-8"),
            (b'[{"client_id": "a", "client_id": "b"}]', "json", "appears twice"),
            (b"x" * (MAX_FILE_BYTES + 1), "json", f"at most {MAX_FILE_BYTES} bytes"),
            (as_json([client_row(f"c{i}", "n") for i in range(MAX_ROWS + 1)]), "json", "rows"),
        ):
            refused = await _refused(
                admin.load_clients(tenant="acme", content=content, file_format=file_format)
            )
            assert refused.code is grpc.StatusCode.INVALID_ARGUMENT
            assert says in refused.field_violations["content"], (says, refused)
        for tenant, field in (("", "tenant"), ("bad tenant", "tenant")):
            refused = await _refused(
                admin.load_clients(tenant=tenant, content=b"[]", file_format="json")
            )
            assert field in refused.field_violations


async def test_search_is_case_insensitive_and_literal(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    async with host.admin() as admin:
        await admin.load_clients(tenant="acme", content=as_json(ACME_CLIENTS), file_format="json")

    async def found(search: str) -> list[str]:
        answer = await host.clients().ListClients(_clients(search=search), metadata=md)
        return [c.client_id for c in answer.result.items]

    assert await found("ACME") == ["c-1", "c-2"]
    assert await found("ZETA.EXAMPLE") == ["c-3"]  # billing email
    assert await found("C-5") == ["c-5"]  # id
    assert await found("%") == ["c-5"]  # a literal percent sign, not "anything"
    assert await found("_") == ["c-6"]
    assert await found("100%") == ["c-5"]
    assert await found("\\") == []
    assert await found("old") == []  # inactive, not included
    assert await found("") == ["c-1", "c-2", "c-5", "c-6", "c-3"]


async def test_paging_and_total_count(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    rows = [client_row(f"c-{i:03}", f"Client {i % 7}") for i in range(53)]
    async with host.admin() as admin:
        await admin.load_clients(tenant="acme", content=as_json(rows), file_format="json")
    expected = [
        r["client_id"] for r in sorted(rows, key=lambda r: (r["client_name"], r["client_id"]))
    ]
    seen: list[str] = []
    for page in (1, 2, 3):
        answer = (await host.clients().ListClients(_clients(page=page), metadata=md)).result
        assert (answer.total_count, answer.page, answer.page_size) == (53, page, 25)
        seen.extend(c.client_id for c in answer.items)
    assert seen == expected
    beyond = (await host.clients().ListClients(_clients(page=9), metadata=md)).result
    assert (len(beyond.items), beyond.total_count) == (0, 53)
    wide = (await host.clients().ListClients(_clients(page_size=100), metadata=md)).result
    assert [c.client_id for c in wide.items] == expected


INVALID_CLIENT_INPUT = [
    (_clients(page=0), "input.page"),
    (_clients(page_size=0), "input.page_size"),
    (_clients(page_size=101), "input.page_size"),
    (_clients(search="x" * 201), "input.search"),
]


@pytest.mark.parametrize(("request_", "field"), INVALID_CLIENT_INPUT)
async def test_out_of_range_client_input_is_invalid_input(
    host: Host, request_: clients_pb2.ListClientsRequest, field: str
) -> None:
    md = await host.token("acme", "cat-1")
    name, message = await _variant(host.clients().ListClients(request_, metadata=md))
    assert name == "CLIENT_READ_ERROR_INVALID_INPUT"
    assert message.startswith(field)


async def test_invalid_service_input_and_ids(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    stub = host.services()
    for request_, field in (
        (_services(page=0), "input.page"),
        (_services(page_size=500), "input.page_size"),
        (_services(item_kind=types_pb2.SERVICE_ITEM_KIND_UNSPECIFIED), "input.item_kind"),
        (_services(billing_method=types_pb2.SERVICE_BILLING_METHOD_UNSPECIFIED), "input.billing"),
    ):
        name, message = await _variant(stub.ListServices(request_, metadata=md))
        assert (name, message.startswith(field)) == ("SERVICE_READ_ERROR_INVALID_INPUT", True)
    for ident in ("", "x" * 129):
        name, message = await _variant(
            stub.GetService(services_pb2.GetServiceRequest(service_id=ident), metadata=md)
        )
        assert (name, message.startswith("service_id")) == (
            "SERVICE_READ_ERROR_INVALID_INPUT",
            True,
        )
        name, _ = await _variant(
            host.clients().GetClient(clients_pb2.GetClientRequest(client_id=ident), metadata=md)
        )
        assert name == "CLIENT_READ_ERROR_INVALID_INPUT"
    unknown = await stub.GetService(services_pb2.GetServiceRequest(service_id="nope"), metadata=md)
    assert not unknown.HasField("service")
    nobody = await host.clients().GetClient(
        clients_pb2.GetClientRequest(client_id="nope"), metadata=md
    )
    assert not nobody.HasField("client")


async def test_a_tenant_never_sees_another_tenants_catalog(host: Host) -> None:
    acme = await host.token("acme", "cat-1")
    globex = await host.token("globex", "cat-1")  # the same install id, another tenant
    async with host.admin() as admin:
        await admin.load_clients(tenant="acme", content=as_json(ACME_CLIENTS), file_format="json")
        await admin.load_services(
            tenant="acme", content=as_json([service_row("s-1", "Backup")]), file_format="json"
        )
        await admin.load_clients(
            tenant="globex", content=as_json([client_row("g-1", "Globex Own")]), file_format="json"
        )
    listed = await host.clients().ListClients(_clients(include_inactive=True), metadata=globex)
    assert [c.client_id for c in listed.result.items] == ["g-1"]
    assert listed.result.total_count == 1
    for search in ("acme", "c-1", "%", "_", "zeta", "'", "acme' OR '1'='1"):
        answer = await host.clients().ListClients(
            _clients(search=search, include_inactive=True), metadata=globex
        )
        assert answer.result.total_count == 0, search
    for client in ACME_CLIENTS:
        got = await host.clients().GetClient(
            clients_pb2.GetClientRequest(client_id=client["client_id"]), metadata=globex
        )
        assert not got.HasField("client")
    services = (await host.services().ListServices(_services(), metadata=globex)).result
    assert services.total_count == 0
    got_service = await host.services().GetService(
        services_pb2.GetServiceRequest(service_id="s-1"), metadata=globex
    )
    assert not got_service.HasField("service")
    # And acme still sees its own.
    own = await host.services().GetService(
        services_pb2.GetServiceRequest(service_id="s-1"), metadata=acme
    )
    assert own.service.service_name == "Backup"


async def test_without_the_capability_the_answer_is_not_allowed(host: Host) -> None:
    clients_only = await host.token("acme", "cat-1", capabilities=(CLIENT_READ,))
    name, _ = await _variant(host.services().ListServices(_services(), metadata=clients_only))
    assert name == "SERVICE_READ_ERROR_NOT_ALLOWED"
    services_only = await host.token("acme", "cat-2", capabilities=(SERVICE_READ,))
    name, _ = await _variant(
        host.clients().GetClient(
            clients_pb2.GetClientRequest(client_id="c-1"), metadata=services_only
        )
    )
    assert name == "CLIENT_READ_ERROR_NOT_ALLOWED"
    missing = await _failure(host.clients().ListClients(_clients()))
    assert missing.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_roles(host: Host) -> None:
    content = as_json([client_row("a", "A")])
    for token, code in (
        (READER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
        (OTHER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
        (None, grpc.StatusCode.UNAUTHENTICATED),
        ("unknown-token-0123456789", grpc.StatusCode.UNAUTHENTICATED),
    ):
        async with host.admin(token) as someone:
            refused = await _refused(
                someone.load_clients(tenant="acme", content=content, file_format="json")
            )
            assert refused.code is code, token
            refused = await _refused(
                someone.load_services(tenant="acme", content=b"[]", file_format="json")
            )
            assert refused.code is code, token
    async with host.admin(READER_TOKEN) as reader:
        counts = await reader.get_catalog_counts(tenant="acme")
    assert (counts.client_count, counts.service_count) == (0, 0)
    async with host.admin(OTHER_TOKEN) as other:
        refused = await _refused(other.get_catalog_counts(tenant="acme"))
    assert refused.code is grpc.StatusCode.PERMISSION_DENIED
    assert host.loads() == []


async def test_each_load_is_an_audit_event_with_counts_not_rows(host: Host) -> None:
    async with host.admin() as admin:
        content = as_json(ACME_CLIENTS)
        await admin.load_clients(tenant="acme", content=content, file_format="json")
        services = as_csv([service_row("s-1", "Backup")], SERVICE_COLUMNS)
        await admin.load_services(tenant="acme", content=services, file_format="csv")
        await admin.load_clients(tenant="acme", content=b"[]", file_format="json")
    first, second, third = host.loads()
    assert (first.action, second.action, third.action) == (
        "catalog.load_clients",
        "catalog.load_services",
        "catalog.load_clients",
    )
    assert first.actor == "platform-admin"
    assert (first.resource, first.namespace, first.outcome) == (
        "catalog/acme/clients",
        "acme",
        "allowed",
    )
    assert dict(first.details) == {
        "format": "json",
        "bytes": str(len(content)),
        "loaded_count": "6",
        "previous_count": "0",
    }
    assert dict(second.details)["format"] == "csv"
    assert (dict(third.details)["loaded_count"], dict(third.details)["previous_count"]) == (
        "0",
        "6",
    )
    assert "Zeta" not in str([dict(e.details) for e in host.loads()])


async def test_concurrent_loads_of_one_tenant_each_replace_it_whole(host: Host) -> None:
    md = await host.token("acme", "cat-1")
    files = [
        as_json([client_row(f"f{n}-{i}", f"File {n} client {i}") for i in range(40)])
        for n in range(4)
    ]
    async with host.admin() as admin:
        answers = await asyncio.gather(
            *(admin.load_clients(tenant="acme", content=f, file_format="json") for f in files)
        )
    assert all(a.client_count == 40 for a in answers)
    # Each load replaced exactly what the one before it stored.
    assert sorted(a.previous_count for a in answers) == [0, 40, 40, 40]
    listed = (await host.clients().ListClients(_clients(page_size=100), metadata=md)).result
    prefixes = {c.client_id.split("-")[0] for c in listed.items}
    assert listed.total_count == 40
    assert len(prefixes) == 1  # one file's rows, never a mix
