"""The statements both secrets stores run (`?` placeholders), and rows as secrets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extplane.host.secrets.schema import TABLE
from extplane.host.secrets.sealing import Sealed, SecretAddress
from extplane.host.secrets.store import StoredSecret

_COLUMNS = "tenant, install_id, key, key_id, ciphertext, expire_ns, updated_ns"
_AT = "tenant = ? AND install_id = ? AND key = ?"

UPSERT = (
    f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, install_id, key) DO UPDATE SET key_id = excluded.key_id,"
    " ciphertext = excluded.ciphertext, expire_ns = excluded.expire_ns,"
    " updated_ns = excluded.updated_ns"
)
SELECT_ONE = f"SELECT {_COLUMNS} FROM {TABLE} WHERE {_AT}"
DELETE = f"DELETE FROM {TABLE} WHERE {_AT}"
LIST = f"SELECT {_COLUMNS} FROM {TABLE} WHERE tenant = ? AND install_id = ? ORDER BY key"
KEY_IDS = f"SELECT key_id, COUNT(*) FROM {TABLE} GROUP BY key_id"
COUNT = f"SELECT COUNT(*) FROM {TABLE} WHERE tenant = ? AND install_id = ?"
FROM_START = f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY tenant, install_id, key LIMIT ?"
AFTER = (
    f"SELECT {_COLUMNS} FROM {TABLE} WHERE (tenant, install_id, key) > (?, ?, ?)"
    " ORDER BY tenant, install_id, key LIMIT ?"
)
RESEAL = (
    f"UPDATE {TABLE} SET key_id = ?, ciphertext = ? WHERE {_AT} AND key_id = ? AND ciphertext = ?"
)


def row(secret: StoredSecret) -> tuple[Any, ...]:
    return (*secret.at, *secret.sealed, secret.expire_ns, secret.updated_ns)


def reseal_values(secret: StoredSecret, sealed: Sealed) -> tuple[Any, ...]:
    return (*sealed, *secret.at, *secret.sealed)


def secret(values: Sequence[Any]) -> StoredSecret:
    tenant, install_id, key, kid, ciphertext, expire_ns, updated_ns = values
    return StoredSecret(
        SecretAddress(tenant, install_id, key),
        Sealed(kid, bytes(ciphertext)),
        expire_ns,
        updated_ns,
    )
