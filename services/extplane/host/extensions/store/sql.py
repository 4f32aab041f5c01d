"""The statements both extension stores run (`?` placeholders), and rows both ways.

A version is read joined to its component's description (never its bytes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from extplane.host.extensions.model import ComponentRef, ExtensionVersion, Limits
from extplane.host.extensions.store import ListedVersion, VersionsQuery
from extplane.host.extensions.store.schema import COMPONENTS_TABLE, VERSIONS_TABLE
from extplane.storage import Conditions

_VERSION_COLUMNS = (
    "extension_id",
    "version",
    "declared_capabilities",
    "timeout_ms",
    "memory_bytes",
    "fuel",
    "component_sha256",
    "grpc_address",
    "created_ns",
)
_SELECTED = ", ".join(f"v.{c}" for c in _VERSION_COLUMNS) + ", c.size_bytes, c.imports"
_FROM = f" FROM {VERSIONS_TABLE} v LEFT JOIN {COMPONENTS_TABLE} c ON c.sha256 = v.component_sha256"

INSERT_VERSION = (
    f"INSERT INTO {VERSIONS_TABLE} ({', '.join(_VERSION_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _VERSION_COLUMNS)}) ON CONFLICT DO NOTHING"
)
INSERT_COMPONENT = (
    f"INSERT INTO {COMPONENTS_TABLE} (sha256, size_bytes, imports, content, created_ns)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
SELECT_ONE = f"SELECT {_SELECTED}{_FROM} WHERE v.extension_id = ? AND v.version = ?"
SELECT_COMPONENT_REF = (
    f"SELECT sha256, size_bytes, imports FROM {COMPONENTS_TABLE} WHERE sha256 = ?"
)
SELECT_CONTENT = f"SELECT content FROM {COMPONENTS_TABLE} WHERE sha256 = ?"
HAS_VERSIONS = f"SELECT 1 FROM {VERSIONS_TABLE} WHERE extension_id = ? LIMIT 1"


def version_row(version: ExtensionVersion) -> tuple[Any, ...]:
    """`version` as the values of INSERT_VERSION."""
    return (
        version.extension_id,
        version.version,
        json.dumps(list(version.declared_capabilities)),
        version.limits.timeout_ms,
        version.limits.memory_bytes,
        version.limits.fuel,
        version.component.sha256 if version.component is not None else None,
        version.grpc_address,
        version.created_ns,
    )


def component_row(version: ExtensionVersion, content: bytes) -> tuple[Any, ...]:
    """The version's component with `content`, as the values of INSERT_COMPONENT."""
    ref = version.component
    assert ref is not None, "only a component version has bytes"
    return (ref.sha256, ref.size_bytes, json.dumps(list(ref.imports)), content, version.created_ns)


def component_ref(values: Sequence[Any]) -> ComponentRef:
    sha256, size_bytes, imports = values
    return ComponentRef(sha256, int(size_bytes), tuple(json.loads(imports)))


def version(values: Sequence[Any]) -> ExtensionVersion:
    """A row of SELECT_ONE (or a listing, without its seq)."""
    (
        extension_id,
        name,
        capabilities,
        timeout_ms,
        memory_bytes,
        fuel,
        sha256,
        grpc_address,
        created_ns,
        size_bytes,
        imports,
    ) = values
    component = None
    if sha256 is not None:
        component = component_ref((sha256, size_bytes, imports))
    return ExtensionVersion(
        extension_id=extension_id,
        version=name,
        declared_capabilities=tuple(json.loads(capabilities)),
        limits=Limits(int(timeout_ms), int(memory_bytes), int(fuel)),
        component=component,
        grpc_address=grpc_address,
        created_ns=int(created_ns),
    )


def list_sql(query: VersionsQuery) -> tuple[str, list[object]]:
    where = Conditions()
    where.equal("v.extension_id", query.extension_id)
    if query.after_seq is not None:
        where.add("v.seq > ?", query.after_seq)
    sql = f"SELECT {_SELECTED}, v.seq{_FROM}{where.where()} ORDER BY v.seq LIMIT ?"
    return sql, [*where.values, query.limit]


def listed(values: Sequence[Any]) -> ListedVersion:
    """A row of `list_sql` (SELECT_ONE's columns, then seq)."""
    return ListedVersion(int(values[-1]), version(values[:-1]))
