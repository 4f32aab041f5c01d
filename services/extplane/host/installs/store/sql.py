"""The statements both stores run (`?` placeholders), and installs as rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from extplane.host.installs.model import Install, Limits, Route, Settings
from extplane.host.installs.store import InstallsQuery, ListedInstall
from extplane.host.installs.store.schema import TABLE
from extplane.storage import Conditions

COLUMNS = (
    "tenant",
    "install_id",
    "extension_id",
    "version",
    "capabilities",
    "egress_allowlist",
    "ui_proxy_routes",
    "storage_value_bytes",
    "storage_keys_per_namespace",
    "storage_bytes",
    "log_records_per_minute",
    "enabled",
    "revision",
    "created_ns",
    "updated_ns",
)
_KEY = ("tenant", "install_id")
_CHANGEABLE = tuple(c for c in COLUMNS if c not in (*_KEY, "created_ns"))

INSERT = (
    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    " ON CONFLICT DO NOTHING"
)
SELECT_ONE = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE tenant = ? AND install_id = ?"
REPLACE = (
    f"UPDATE {TABLE} SET {', '.join(f'{c} = ?' for c in _CHANGEABLE)}"
    " WHERE tenant = ? AND install_id = ? AND revision = ?"
)


def _route_row(route: Route) -> list[str]:
    """[route, upstream] as rows written before routes named secrets hold, or with
    [secret key, secret header] after them: both read back by `Route(*row)`."""
    if not route.secret_key:
        return [route.route, route.upstream_url]
    return [route.route, route.upstream_url, route.secret_key, route.secret_header]


def row(install: Install) -> tuple[Any, ...]:
    """`install` as the values of COLUMNS."""
    settings, limits = install.settings, install.settings.limits
    return (
        install.tenant,
        install.install_id,
        install.extension_id,
        settings.version,
        json.dumps(list(settings.capabilities)),
        json.dumps(list(settings.egress_allowlist)),
        json.dumps([_route_row(r) for r in settings.ui_proxy_routes]),
        limits.storage_value_bytes,
        limits.storage_keys_per_namespace,
        limits.storage_bytes,
        limits.log_records_per_minute,
        int(install.enabled),
        install.revision,
        install.created_ns,
        install.updated_ns,
    )


def replace_values(install: Install, expected_revision: int) -> tuple[Any, ...]:
    values = dict(zip(COLUMNS, row(install), strict=True))
    return (
        *(values[c] for c in _CHANGEABLE),
        install.tenant,
        install.install_id,
        expected_revision,
    )


def install(values: Sequence[Any]) -> Install:
    """A stored row (COLUMNS, in order) as an install."""
    (
        tenant,
        install_id,
        extension_id,
        version,
        capabilities,
        egress,
        routes,
        value_bytes,
        keys,
        total_bytes,
        log_rate,
        enabled,
        revision,
        created_ns,
        updated_ns,
    ) = values
    settings = Settings(
        version=version,
        capabilities=tuple(json.loads(capabilities)),
        egress_allowlist=tuple(json.loads(egress)),
        ui_proxy_routes=tuple(Route(*stored) for stored in json.loads(routes)),
        limits=Limits(value_bytes, keys, total_bytes, log_rate),
    )
    return Install(
        tenant, install_id, extension_id, settings, bool(enabled), revision, created_ns, updated_ns
    )


def list_sql(query: InstallsQuery) -> tuple[str, list[object]]:
    where = Conditions()
    where.equal("tenant", query.tenant)
    where.equal("extension_id", query.extension_id)
    if query.enabled is not None:
        where.add("enabled = ?", int(query.enabled))
    if query.after_seq is not None:
        where.add("seq > ?", query.after_seq)
    sql = f"SELECT {', '.join(COLUMNS)}, seq FROM {TABLE}{where.where()} ORDER BY seq LIMIT ?"
    return sql, [*where.values, query.limit]


def listed(values: Sequence[Any]) -> ListedInstall:
    """A row of `list_sql` (COLUMNS, then seq)."""
    return ListedInstall(values[-1], install(values[:-1]))
