"""Export encodings: JSONL (one record per line) and CSV (RFC 4180, a header row).

A JSONL line is the record's protojson as the gateway renders a
ListAuditEvents item (lowerCamelCase names, every field printed, int64 as a
string). A CSV row has the same values: timestamps in RFC 3339, `details` as
its canonical JSON object, hashes in hex.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from google.protobuf import json_format

from extplane.audit.convert import record_to_proto
from extplane.audit.records import StoredRecord
from extplane.runtime.timestamps import rfc3339
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

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


def csv_rows(records: Sequence[StoredRecord]) -> str:
    return _csv(
        [
            (
                str(r.sequence),
                rfc3339(r.timestamp_ns),
                r.action,
                r.actor,
                r.resource,
                r.namespace,
                r.outcome,
                r.event_id,
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
