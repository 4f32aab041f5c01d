"""schemathesis hooks for the gateway run (loaded through SCHEMATHESIS_HOOKS).

`positive_data_acceptance` fails any schema-valid request that gets a 400. A
few of the services' rules span several fields or depend on the log's state,
which OpenAPI cannot declare: each operation's description states them (see
the RPC comments in the protos). `documented_positive_data_acceptance` runs
schemathesis' own check, and lets a 400 pass only when the request really
breaks one of those stated rules, judged here from the request alone, and the
answer names exactly the fields that rule names. A 400 for anything else, or
one that names another field, stays a failure.

The rules, as the descriptions state them:
* `end_time` must be after `start_time` (GetUsage: the end defaults to now,
  and the answer names `start_time` then);
* GetUsage with a window may span at most 10,000 windows (`window`), and
  names a dimension at most once in any spelling (`group_by[i]`, the repeat; the schema's
  `uniqueItems` only sees the spellings);
* a `page_token` must be one the API issued (a generated token never is);
* VerifyAuditLog: a non-zero `to_sequence` not below `from_sequence`, and
  `from_sequence` not beyond the head of the log (`ATTACK_AUDIT_HEAD`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

NS_PER_S = 1_000_000_000
MIN_NS, MAX_NS = -(2**63), 2**63 - 1
MAX_USAGE_WINDOWS = 10_000
WINDOW_NS = {"minute": 60, "hour": 3600, "day": 86_400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant_ns(text: object) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


def _first(query: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = query.get(name)
        if value is not None:
            return value[-1] if isinstance(value, list) and value else value
    return None


def _window_ns(value: object) -> int | None:
    text = str(value).lower().removeprefix("usage_window_")
    seconds = WINDOW_NS.get(text) or dict(zip("123", WINDOW_NS.values(), strict=True)).get(text)
    return seconds * NS_PER_S if seconds else None


_DIMENSIONS = {"namespace": 1, "task": 2, "agent": 3, "model": 4}


def _dimension(value: object) -> int | None:
    text = str(value).lower().removeprefix("usage_dimension_")
    return _DIMENSIONS.get(text) or (int(text) if text.isdigit() else None)


def _all(query: Mapping[str, Any], *names: str) -> list[Any]:
    for name in names:
        value = query.get(name)
        if value is not None:
            return value if isinstance(value, list) else [value]
    return []


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def documented_refusals(path: str, query: Mapping[str, Any]) -> set[str]:
    """The fields a 400 may name for this request under the stated rules."""
    fields: set[str] = set()
    if _first(query, "pageToken", "page_token"):
        fields.add("page_token")
    start = _instant_ns(_first(query, "startTime", "start_time"))
    end = _instant_ns(_first(query, "endTime", "end_time"))
    if path == "/v1/metering/usage" and start is not None:
        given_end = end is not None
        end = end if end is not None else time.time_ns()
        if end <= start:
            fields.add("end_time" if given_end else "start_time")
        dimensions = [_dimension(v) for v in _all(query, "groupBy", "group_by")]
        fields.update(
            f"group_by[{index}]"
            for index, dimension in enumerate(dimensions)
            if dimension in dimensions[:index]
        )
        window = _window_ns(_first(query, "window"))
        if window is not None:
            first = max(MIN_NS, min(MAX_NS, start)) // window * window
            if -(-(max(MIN_NS, min(MAX_NS, end)) - first) // window) > MAX_USAGE_WINDOWS:
                fields.add("window")
    elif start is not None and end is not None and end <= start:
        fields.add("end_time")
    if path == "/v1/audit/verify":
        from_sequence = _int(_first(query, "fromSequence", "from_sequence"))
        to_sequence = _int(_first(query, "toSequence", "to_sequence"))
        if to_sequence and to_sequence < from_sequence:
            fields.add("to_sequence")
        if from_sequence > int(os.environ.get("ATTACK_AUDIT_HEAD", "0")):
            fields.add("from_sequence")
    return fields


def violated_fields(body: bytes | None) -> set[str] | None:
    try:
        status = json.loads(body or b"")
        return {
            violation["field"]
            for detail in status["details"]
            if detail.get("@type", "").endswith("google.rpc.BadRequest")
            for violation in detail["fieldViolations"]
        }
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def documented_positive_data_acceptance(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            named = violated_fields(response.content)
            allowed = documented_refusals(case.operation.path, case.query or {})
            if named and named <= allowed:
                return None
        raise
