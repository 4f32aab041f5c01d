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
"""

from __future__ import annotations

from extplane.audit.chain.canonical import TEXT_FIELDS

# The text fields in canonical order; event_id is NULL when empty.
TEXT_COLUMNS = tuple(
    "coalesce(event_id, '')" if name == "event_id" else name for name in TEXT_FIELDS
)
_INTEGERS = ("sequence", "timestamp_ns", "receive_time_ns")


def _sqlite_length(text: str) -> str:
    return f"length(CAST({text} AS BLOB))"  # bytes (UTF-8), not characters


_SQLITE_HEADER_HEX = (
    "printf('"
    + "%016X" * len(_INTEGERS)
    + "%08X" * len(TEXT_COLUMNS)
    + "', "
    + ", ".join((*_INTEGERS, *(_sqlite_length(text) for text in TEXT_COLUMNS)))
    + ")"
)
_SQLITE_BODY = f"CAST({' || '.join(TEXT_COLUMNS)} AS BLOB)"

# SQLite 3.40 has no unhex(): the 52-byte header is compared as hex text
# (printf's %X of each integer; two's complement, so a negative or
# out-of-range value can never spell a genuine header), the text fields as
# bytes. Lengths are checked in the header and the bytes in one piece, which
# together pin every field boundary.
SQLITE_COLUMNS_AGREE = (
    f"hex(substr(canonical, 1, 52)) = {_SQLITE_HEADER_HEX}"
    f" AND substr(canonical, 53) = {_SQLITE_BODY}"
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


POSTGRES_CANONICAL = " || ".join(
    (
        *(f"int8send({column})" for column in _INTEGERS),
        *(f"int4send(octet_length({_postgres_utf8(text)}))" for text in TEXT_COLUMNS),
        _postgres_utf8(" || ".join(TEXT_COLUMNS)),
    )
)
POSTGRES_COLUMNS_AGREE = f"canonical = {POSTGRES_CANONICAL}"
