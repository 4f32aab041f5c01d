"""The statements both backends run for the storage provider (`?` placeholders)."""

from __future__ import annotations

from extplane.host.installs.store.schema import STORAGE_TABLE, USAGE_TABLE

_AT = "tenant = ? AND install_id = ? AND namespace = ? AND key = ?"
_INSTALL = "tenant = ? AND install_id = ?"

SELECT_ENTRY = f"SELECT namespace, key, value, revision FROM {STORAGE_TABLE} WHERE {_AT}"
SELECT_STORED = f"SELECT revision, size FROM {STORAGE_TABLE} WHERE {_AT}"
COUNT_NAMESPACE = f"SELECT COUNT(*) FROM {STORAGE_TABLE} WHERE {_INSTALL} AND namespace = ?"
ENSURE_USAGE = (
    f"INSERT INTO {USAGE_TABLE} (tenant, install_id, bytes) VALUES (?, ?, 0) ON CONFLICT DO NOTHING"
)
SELECT_USAGE = f"SELECT bytes FROM {USAGE_TABLE} WHERE {_INSTALL}"
ADD_USAGE = f"UPDATE {USAGE_TABLE} SET bytes = bytes + ? WHERE {_INSTALL}"
UPSERT = (
    f"INSERT INTO {STORAGE_TABLE} (tenant, install_id, namespace, key, value, size, revision)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, install_id, namespace, key)"
    " DO UPDATE SET value = excluded.value, size = excluded.size, revision = excluded.revision"
)
DELETE = f"DELETE FROM {STORAGE_TABLE} WHERE {_AT} RETURNING size"
LIST_FROM_START = (
    f"SELECT namespace, key, value, revision FROM {STORAGE_TABLE}"
    f" WHERE {_INSTALL} AND namespace = ? ORDER BY key LIMIT ?"
)
LIST_AFTER = (
    f"SELECT namespace, key, value, revision FROM {STORAGE_TABLE}"
    f" WHERE {_INSTALL} AND namespace = ? AND key > ? ORDER BY key LIMIT ?"
)
