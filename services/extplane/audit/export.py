"""Exports: the records of a filter as JSONL (one record per line) or CSV
(RFC 4180, a header row), read a page at a time and sent in chunks.

A JSONL line is the record's protojson as the gateway renders a
ListAuditEvents item (lowerCamelCase names, every field printed, int64 as a
string). A CSV row has the same values: timestamps in RFC 3339, `details` as
its canonical JSON object, hashes in hex; a text cell a spreadsheet would
run as a formula (starting `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
JSONL is the exact export (the one to verify); CSV is for people.

An export stops at the head as it was when it started, so a busy log still
ends (and the export is the log as of one moment).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence

from google.protobuf import json_format

from extplane.audit.chain.records import StoredRecord
from extplane.audit.store import AuditStore
from extplane.audit.store.record_query import RecordFilter, RecordQuery
from extplane.audit.to_proto import record_to_proto
from extplane.runtime.paging import MAX_PAGE_SIZE
from extplane.runtime.timestamps import rfc3339
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

# A chunk is sent once this much text is buffered.
EXPORT_CHUNK_BYTES = 64 * 1024
JSONL = "application/x-ndjson"
CSV = "text/csv"
CSV_COLUMNS = (
    "sequence",
    "timestamp",
    "action",
    "actor",
    "resource",
    "namespace",
    "outcome",
    "event_id",
    "details",
    "receive_time",
    "hash",
    "previous_hash",
)
_CONTENT_TYPES: dict[int, str] = {
    audit_query_pb2.AUDIT_EXPORT_FORMAT_UNSPECIFIED: JSONL,
    audit_query_pb2.AUDIT_EXPORT_FORMAT_JSONL: JSONL,
    audit_query_pb2.AUDIT_EXPORT_FORMAT_CSV: CSV,
}


def content_type(export_format: int) -> str | None:
    """The media type of a format; None for a value the contract does not define."""
    return _CONTENT_TYPES.get(export_format)


def jsonl_lines(records: Sequence[StoredRecord]) -> str:
    lines = (
        json.dumps(
            json_format.MessageToDict(
                record_to_proto(record), always_print_fields_with_no_presence=True
            ),
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for record in records
    )
    return "".join(f"{line}\n" for line in lines)


def csv_header() -> str:
    return _csv([CSV_COLUMNS])


# A spreadsheet runs a cell that starts with one of these as a formula
# (`=HYPERLINK(...)` in an actor name would be an attack on whoever opens the
# export); such a cell gets a leading apostrophe, which spreadsheets show as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_rows(records: Sequence[StoredRecord]) -> str:
    return _csv(
        [
            (
                str(r.sequence),
                rfc3339(r.timestamp_ns),
                _cell(r.action),
                _cell(r.actor),
                _cell(r.resource),
                _cell(r.namespace),
                r.outcome,
                _cell(r.event_id),
                r.details,
                rfc3339(r.receive_time_ns),
                r.hash.hex(),
                r.previous_hash.hex(),
            )
            for r in records
        ]
    )


def _csv(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


async def export_chunks(
    store: AuditStore, record: RecordFilter, descending: bool, *, as_csv: bool
) -> AsyncIterator[bytes]:
    """The export's bytes, in chunks of about `EXPORT_CHUNK_BYTES`; at least one chunk
    (possibly empty) even when nothing matches."""
    buffer = [csv_header()] if as_csv else []
    size = len(buffer[0]) if buffer else 0
    sent = False
    encode = csv_rows if as_csv else jsonl_lines
    async for page in _pages(store, record, descending):
        for stored in page:
            # Record by record: a chunk stays near the target size even when a
            # page holds large details.
            text = encode([stored])
            buffer.append(text)
            size += len(text)
            if size >= EXPORT_CHUNK_BYTES:
                yield "".join(buffer).encode()
                buffer, size, sent = [], 0, True
    if buffer or not sent:
        yield "".join(buffer).encode()


async def _pages(
    store: AuditStore, record: RecordFilter, descending: bool
) -> AsyncIterator[list[StoredRecord]]:
    """Every matching record up to the head of now, a page at a time."""
    through = (await store.chain_head()).sequence
    after: int | None = None
    while True:
        page = await store.list_records(
            RecordQuery(record, descending, after, through, MAX_PAGE_SIZE)
        )
        if not page:
            return
        yield page
        if len(page) < MAX_PAGE_SIZE:
            return
        after = page[-1].sequence
