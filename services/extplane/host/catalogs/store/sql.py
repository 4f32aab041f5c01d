"""The statements both catalog stores run (`?` placeholders), and rows both ways.

Search text goes in a LIKE pattern with its own `%`, `_` and `\\` escaped
(`ESCAPE '\\'`), so it always matches literally, as a substring of the folded
fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extplane.host.catalogs.model import (
    BillingMethod,
    Client,
    ClientsQuery,
    ItemKind,
    Service,
    ServicesQuery,
    fold,
)
from extplane.host.catalogs.store.schema import CLIENTS_TABLE, SERVICES_TABLE
from extplane.storage import Conditions

CLIENT_COLUMNS = (
    "client_id",
    "client_name",
    "client_type",
    "is_inactive",
    "default_currency_code",
    "account_manager_id",
    "account_manager_name",
    "billing_email",
)
SERVICE_COLUMNS = (
    "service_id",
    "service_name",
    "item_kind",
    "billing_method",
    "service_type_id",
    "service_type_name",
    "default_rate",
    "unit_of_measure",
    "is_active",
    "sku",
)
_CLIENT_STORED = ("tenant", *CLIENT_COLUMNS, "name_folded", "id_folded", "email_folded")
_SERVICE_STORED = ("tenant", *SERVICE_COLUMNS, "name_folded", "sku_folded")


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


INSERT_CLIENT = _insert(CLIENTS_TABLE, _CLIENT_STORED)
INSERT_SERVICE = _insert(SERVICES_TABLE, _SERVICE_STORED)
DELETE_CLIENTS = f"DELETE FROM {CLIENTS_TABLE} WHERE tenant = ?"
DELETE_SERVICES = f"DELETE FROM {SERVICES_TABLE} WHERE tenant = ?"
COUNT_CLIENTS = f"SELECT COUNT(*) FROM {CLIENTS_TABLE} WHERE tenant = ?"
COUNT_SERVICES = f"SELECT COUNT(*) FROM {SERVICES_TABLE} WHERE tenant = ?"
GET_CLIENT = (
    f"SELECT {', '.join(CLIENT_COLUMNS)} FROM {CLIENTS_TABLE} WHERE tenant = ? AND client_id = ?"
)
GET_SERVICE = (
    f"SELECT {', '.join(SERVICE_COLUMNS)} FROM {SERVICES_TABLE} WHERE tenant = ? AND service_id = ?"
)


def like_pattern(search: str) -> str:
    """`search`, folded, as a LIKE pattern matching it anywhere, literally."""
    escaped = fold(search).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _folded(value: str | None) -> str | None:
    return None if value is None else fold(value)


def client_row(tenant: str, client: Client) -> tuple[Any, ...]:
    return (
        tenant,
        client.client_id,
        client.client_name,
        client.client_type,
        int(client.is_inactive),
        client.default_currency_code,
        client.account_manager_id,
        client.account_manager_name,
        client.billing_email,
        fold(client.client_name),
        fold(client.client_id),
        _folded(client.billing_email),
    )


def service_row(tenant: str, service: Service) -> tuple[Any, ...]:
    return (
        tenant,
        service.service_id,
        service.service_name,
        service.item_kind.value,
        service.billing_method.value,
        service.service_type_id,
        service.service_type_name,
        service.default_rate,
        service.unit_of_measure,
        int(service.is_active),
        service.sku,
        fold(service.service_name),
        _folded(service.sku),
    )


def client(values: Sequence[Any]) -> Client:
    """A row of CLIENT_COLUMNS."""
    ident, name, kind, inactive, currency, manager_id, manager_name, email = values
    return Client(ident, name, kind, bool(inactive), currency, manager_id, manager_name, email)


def service(values: Sequence[Any]) -> Service:
    """A row of SERVICE_COLUMNS."""
    ident, name, kind, billing, type_id, type_name, rate, unit, active, sku = values
    return Service(
        service_id=ident,
        service_name=name,
        item_kind=ItemKind(kind),
        billing_method=BillingMethod(billing),
        default_rate=float(rate),
        unit_of_measure=unit,
        is_active=bool(active),
        service_type_id=type_id,
        service_type_name=type_name,
        sku=sku,
    )


def _search(where: Conditions, search: str | None, columns: Sequence[str]) -> None:
    if search:
        pattern = like_pattern(search)
        terms = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns)
        where.add(f"({terms})", *(pattern for _ in columns))


def _listing(
    table: str, columns: Sequence[str], id_column: str, where: Conditions, offset: int, limit: int
) -> tuple[str, list[object], str, list[object]]:
    """(page statement, its values, count statement, its values)."""
    clause = where.where()
    page = (
        f"SELECT {', '.join(columns)} FROM {table}{clause}"
        f" ORDER BY name_folded, {id_column} LIMIT ? OFFSET ?"
    )
    count = f"SELECT COUNT(*) FROM {table}{clause}"
    return page, [*where.values, limit, offset], count, list(where.values)


def list_clients(tenant: str, query: ClientsQuery) -> tuple[str, list[object], str, list[object]]:
    where = Conditions()
    where.add("tenant = ?", tenant)
    if not query.include_inactive:
        where.add("is_inactive = 0")
    _search(where, query.search, ("name_folded", "id_folded", "email_folded"))
    page = query.page
    return _listing(CLIENTS_TABLE, CLIENT_COLUMNS, "client_id", where, page.offset, page.size)


def list_services(tenant: str, query: ServicesQuery) -> tuple[str, list[object], str, list[object]]:
    where = Conditions()
    where.add("tenant = ?", tenant)
    if query.item_kind is not None:
        where.add("item_kind = ?", query.item_kind.value)
    if query.billing_method is not None:
        where.add("billing_method = ?", query.billing_method.value)
    if query.is_active is not None:
        where.add("is_active = ?", int(query.is_active))
    _search(where, query.search, ("name_folded", "sku_folded"))
    page = query.page
    return _listing(SERVICES_TABLE, SERVICE_COLUMNS, "service_id", where, page.offset, page.size)
