"""The catalogs' schema, as versioned migrations of their own component
(`host.catalogs`), in the host service's database.

`host_clients` and `host_services` hold one row per (tenant, id). Beside each
searched text is its folded copy (`*_folded`, `model.fold`), which is what
search and order compare, so both backends agree on matches and order. Text
compares in the "C" collation on PostgreSQL (byte order, as SQLite does).
Booleans are integers 0/1 on both.
"""

from __future__ import annotations

from extplane.storage import Migration

COMPONENT = "host.catalogs"
CLIENTS_TABLE = "host_clients"
SERVICES_TABLE = "host_services"


def _create(text: str, real: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE {CLIENTS_TABLE} (
            tenant TEXT{text} NOT NULL,
            client_id TEXT{text} NOT NULL,
            client_name TEXT NOT NULL,
            client_type TEXT,
            is_inactive INTEGER NOT NULL,
            default_currency_code TEXT,
            account_manager_id TEXT,
            account_manager_name TEXT,
            billing_email TEXT,
            name_folded TEXT{text} NOT NULL,
            id_folded TEXT{text} NOT NULL,
            email_folded TEXT{text},
            PRIMARY KEY (tenant, client_id)
        )""",
        f"CREATE INDEX {CLIENTS_TABLE}_order ON {CLIENTS_TABLE} (tenant, name_folded, client_id)",
        f"""CREATE TABLE {SERVICES_TABLE} (
            tenant TEXT{text} NOT NULL,
            service_id TEXT{text} NOT NULL,
            service_name TEXT NOT NULL,
            item_kind TEXT NOT NULL,
            billing_method TEXT NOT NULL,
            service_type_id TEXT,
            service_type_name TEXT,
            default_rate {real} NOT NULL,
            unit_of_measure TEXT NOT NULL,
            is_active INTEGER NOT NULL,
            sku TEXT,
            name_folded TEXT{text} NOT NULL,
            sku_folded TEXT{text},
            PRIMARY KEY (tenant, service_id)
        )""",
        f"CREATE INDEX {SERVICES_TABLE}_order"
        f" ON {SERVICES_TABLE} (tenant, name_folded, service_id)",
    )


MIGRATIONS = (
    Migration(
        1,
        "clients and services",
        sqlite=_create("", "REAL"),
        postgres=_create(' COLLATE "C"', "DOUBLE PRECISION"),
    ),
)
