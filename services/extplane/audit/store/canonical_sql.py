"""The canonical encoding (chain.py) in SQL, for SQLite and PostgreSQL.

Each record stores its canonical bytes (`canonical`, what its hash covers)
beside the query columns that listing, export and the filters read. Two
things need the encoding in SQL:

* verification proves, inside the database, that each row's columns say
  exactly what its canonical bytes say (`*_COLUMNS_AGREE`), so that editing
  a column alone is caught without carrying ten columns per row into Python;
* migration 2 computes `canonical` for rows stored before it existed
  (`*_CANONICAL`).

A NULL anywhere makes a predicate NULL: the store asks for rows where it
`IS NOT TRUE`, so such a row disagrees, never passes.

A row's `canonical_version` says which encoding to compare with: version 1
(no principal, which must then be empty) or 2. A version edited alone makes
the comparison fail; edited with the bytes, the hash does.
"""

from __future__ import annotations

from extplane.audit.chain.canonical import HEADER, HEADER_V2, TEXT_FIELDS

# The text fields in canonical order (version 1); event_id is NULL when empty.
TEXT_COLUMNS = tuple(
    "coalesce(event_id, '')" if name == "event_id" else name for name in TEXT_FIELDS
)
TEXT_COLUMNS_V2 = (*TEXT_COLUMNS, "principal")
_INTEGERS = ("sequence", "timestamp_ns", "receive_time_ns")


def _sqlite_length(text: str) -> str:
    return f"length(CAST({text} AS BLOB))"  # bytes (UTF-8), not characters


def _sqlite_agree(texts: tuple[str, ...], header_bytes: int) -> str:
    header_hex = (
        "printf('"
        + "%016X" * len(_INTEGERS)
        + "%08X" * len(texts)
        + "', "
        + ", ".join((*_INTEGERS, *(_sqlite_length(text) for text in texts)))
        + ")"
    )
    body = f"CAST({' || '.join(texts)} AS BLOB)"
    return (
        f"hex(substr(canonical, 1, {header_bytes})) = {header_hex}"
        f" AND substr(canonical, {header_bytes + 1}) = {body}"
    )


# SQLite 3.40 has no unhex(): the 52-byte header is compared as hex text
# (printf's %X of each integer; two's complement, so a negative or
# out-of-range value can never spell a genuine header), the text fields as
# bytes. Lengths are checked in the header and the bytes in one piece, which
# together pin every field boundary.
SQLITE_COLUMNS_AGREE = (
    f"CASE canonical_version WHEN 1 THEN principal = ''"
    f" AND {_sqlite_agree(TEXT_COLUMNS, HEADER.size)}"
    f" WHEN 2 THEN {_sqlite_agree(TEXT_COLUMNS_V2, HEADER_V2.size)} END"
)

# Building bytes from integers without unhex(): each byte is cut out of a
# 256-byte table (`bytes`, joined in by the statement). Slow, but it runs
# once per stored row, in the migration.
SQLITE_BYTE_TABLE = "X'" + "".join(f"{value:02X}" for value in range(256)) + "'"


def _sqlite_big_endian(value: str, width: int) -> str:
    return " || ".join(
        f"substr(bytes, (({value}) >> {8 * (width - 1 - index)} & 255) + 1, 1)"
        for index in range(width)
    )


SQLITE_CANONICAL = (
    "CAST("
    + " || ".join(
        (
            *(_sqlite_big_endian(column, 8) for column in _INTEGERS),
            *(_sqlite_big_endian(_sqlite_length(text), 4) for text in TEXT_COLUMNS),
            *TEXT_COLUMNS,
        )
    )
    + " AS BLOB)"
)


def _postgres_utf8(text: str) -> str:
    return f"convert_to({text}, 'UTF8')"


def _postgres_canonical(texts: tuple[str, ...]) -> str:
    return " || ".join(
        (
            *(f"int8send({column})" for column in _INTEGERS),
            *(f"int4send(octet_length({_postgres_utf8(text)}))" for text in texts),
            _postgres_utf8(" || ".join(texts)),
        )
    )


# Version 1, as migration 2 computed it for the rows stored before it.
POSTGRES_CANONICAL = _postgres_canonical(TEXT_COLUMNS)
POSTGRES_COLUMNS_AGREE = (
    f"CASE canonical_version WHEN 1 THEN principal = '' AND canonical = {POSTGRES_CANONICAL}"
    f" WHEN 2 THEN canonical = {_postgres_canonical(TEXT_COLUMNS_V2)} END"
)
