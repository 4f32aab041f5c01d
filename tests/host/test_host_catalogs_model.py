"""Search, filters, order and paging of both catalog stores against a plain
Python model of the documented rules (docs/host.md), on generated catalogs
whose names and searches are full of case and LIKE metacharacters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extplane.host.catalogs.model import (
    BillingMethod,
    Client,
    ClientsQuery,
    ItemKind,
    Page,
    Service,
    ServicesQuery,
    fold,
)
from extplane.host.catalogs.part import CATALOG_STORE

# Case pairs, LIKE's metacharacters and its escape, a non-ASCII pair.
TEXT = st.text(alphabet="aAbB%_\\ Éé", max_size=6)
PAGES = st.builds(Page, page=st.integers(1, 5), size=st.integers(1, 4))


def _contains(needle: str, *fields: str | None) -> bool:
    return any(field is not None and fold(needle) in fold(field) for field in fields)


def model_clients(clients: list[Client], query: ClientsQuery) -> tuple[list[str], int]:
    matches = [
        c
        for c in clients
        if (query.include_inactive or not c.is_inactive)
        and (
            not query.search or _contains(query.search, c.client_name, c.client_id, c.billing_email)
        )
    ]
    matches.sort(key=lambda c: (fold(c.client_name), c.client_id))
    start = query.page.offset
    return [c.client_id for c in matches[start : start + query.page.size]], len(matches)


def model_services(services: list[Service], query: ServicesQuery) -> tuple[list[str], int]:
    matches = [
        s
        for s in services
        if (query.item_kind is None or s.item_kind is query.item_kind)
        and (query.billing_method is None or s.billing_method is query.billing_method)
        and (query.is_active is None or s.is_active == query.is_active)
        and (not query.search or _contains(query.search, s.service_name, s.sku))
    ]
    matches.sort(key=lambda s: (fold(s.service_name), s.service_id))
    start = query.page.offset
    return [s.service_id for s in matches[start : start + query.page.size]], len(matches)


@st.composite
def client_lists(draw: st.DrawFn) -> list[Client]:
    ids = draw(st.lists(TEXT.filter(bool), unique=True, max_size=12))
    return [
        Client(
            client_id=ident,
            client_name=draw(TEXT.filter(bool)),
            is_inactive=draw(st.booleans()),
            billing_email=draw(st.none() | TEXT.map(lambda t: f"{t}@x.example")),
        )
        for ident in ids
    ]


@st.composite
def service_lists(draw: st.DrawFn) -> list[Service]:
    ids = draw(st.lists(TEXT.filter(bool), unique=True, max_size=12))
    return [
        Service(
            service_id=ident,
            service_name=draw(TEXT.filter(bool)),
            item_kind=draw(st.sampled_from(ItemKind)),
            billing_method=draw(st.sampled_from(BillingMethod)),
            default_rate=1.0,
            unit_of_measure="each",
            is_active=draw(st.booleans()),
            sku=draw(st.none() | TEXT.filter(bool)),
        )
        for ident in ids
    ]


CLIENT_QUERIES = st.builds(
    ClientsQuery, search=st.none() | TEXT, include_inactive=st.booleans(), page=PAGES
)
SERVICE_QUERIES = st.builds(
    ServicesQuery,
    search=st.none() | TEXT,
    item_kind=st.none() | st.sampled_from(ItemKind),
    is_active=st.none() | st.booleans(),
    billing_method=st.none() | st.sampled_from(BillingMethod),
    page=PAGES,
)
EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def _check(
    database_url: str,
    data_dir: Path,
    clients: list[Client],
    services: list[Service],
    client_queries: list[ClientsQuery],
    service_queries: list[ServicesQuery],
) -> None:
    store = CATALOG_STORE.at(database_url, data_dir)
    await store.open()
    try:
        await store.replace_clients("t", clients)
        await store.replace_services("t", services)
        await store.replace_clients("other", [Client("x", "a%_\\ÉéAb", billing_email="a@b.c")])
        for cq in client_queries:
            listed = await store.list_clients("t", cq)
            got = ([c.client_id for c in listed.items], listed.total_count)
            assert got == model_clients(clients, cq), cq
        for sq in service_queries:
            found = await store.list_services("t", sq)
            got = ([s.service_id for s in found.items], found.total_count)
            assert got == model_services(services, sq), sq
    finally:
        await store.close()


@EXAMPLES
@given(
    clients=client_lists(),
    services=service_lists(),
    client_queries=st.lists(CLIENT_QUERIES, min_size=1, max_size=4),
    service_queries=st.lists(SERVICE_QUERIES, min_size=1, max_size=4),
)
def test_the_stores_list_what_the_model_lists(
    database_url: str,
    tmp_path: Path,
    clients: list[Client],
    services: list[Service],
    client_queries: list[ClientsQuery],
    service_queries: list[ServicesQuery],
) -> None:
    asyncio.run(_check(database_url, tmp_path, clients, services, client_queries, service_queries))


def test_the_model_agrees_with_a_hand_worked_case() -> None:
    clients = [Client("2", "b"), Client("1", "B"), Client("3", "a%", is_inactive=True)]
    assert model_clients(clients, ClientsQuery()) == (["1", "2"], 2)
    assert model_clients(clients, ClientsQuery(search="%", include_inactive=True)) == (["3"], 1)
