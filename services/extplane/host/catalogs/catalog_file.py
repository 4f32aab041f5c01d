"""A catalog file (JSON or CSV) as checked rows, or every reason it is refused.

The whole file is read and every row checked before anything is stored; a
refusal is INVALID_ARGUMENT whose violations (field `content`) each name the
row and the field: `row 7: billing_email: not an email address`. Rows count
from 1 in both formats (a CSV header is not a row).
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from extplane.host.catalogs.fields import (
    CLIENT_FIELDS,
    SERVICE_FIELDS,
    Field,
    FieldError,
    by_name,
    field_name,
    from_csv,
    from_json,
)
from extplane.host.catalogs.model import BillingMethod, Client, ItemKind, Service
from extplane.runtime import FieldViolation, InvalidRequestError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
CONTENT = "content"


class Format(enum.Enum):
    JSON = "json"
    CSV = "csv"


Values = dict[str, object]


class BadFileError(InvalidRequestError):
    """Bad rows: each violation's field is `content.rows[N]` or
    `content.rows[N].FIELD` (N from 1), and the message reads `row N: FIELD: why`."""

    def __init__(self, problems: Sequence[tuple[int, str, str]]) -> None:
        super().__init__([FieldViolation(_path(row, field), why) for row, field, why in problems])
        row, field, why = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self._text = f"row {row}: {field + ': ' if field else ''}{why}{more}"

    def __str__(self) -> str:
        return self._text


def _path(row: int, field: str) -> str:
    return f"{CONTENT}.rows[{row}]" + (f".{field}" if field else "")


class _Problems:
    def __init__(self) -> None:
        self.found: list[tuple[int, str, str]] = []

    def add(self, row: int, field: str, why: str) -> None:
        self.found.append((row, field, why))

    def raise_any(self) -> None:
        if self.found:
            raise BadFileError(self.found)


def _refuse(why: str, field: str = CONTENT) -> InvalidRequestError:
    return InvalidRequestError.field(field, why)


def _text(content: bytes) -> str:
    if len(content) > MAX_FILE_BYTES:
        raise _refuse(f"at most {MAX_FILE_BYTES} bytes")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        raise _refuse(f"not UTF-8 text (byte {bad.start})") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def _json_rows(text: str) -> list[Mapping[str, object]]:
    try:
        parsed = json.loads(text, object_pairs_hook=_unique_keys)
    except ValueError as bad:
        raise _refuse(f"not JSON: {bad}") from None
    if not isinstance(parsed, list):
        raise _refuse("must be a JSON array of objects, one per row")
    return parsed


def _csv_rows(text: str, problems: _Problems) -> Iterator[tuple[int, Mapping[str, str] | None]]:
    """(row number, cells by header name); None for a row whose cells do not fit."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        for number, cells in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise _refuse(f"at most {MAX_ROWS} rows")
            if len(cells) != len(header):
                problems.add(number, "", f"{len(cells)} cells, the header names {len(header)}")
                yield number, None
                continue
            yield number, dict(zip(header, cells, strict=True))
    except csv.Error as bad:
        raise _refuse(f"not CSV at line {reader.line_num}: {bad}") from None


def _row_values(
    number: int,
    row: object,
    fields: Mapping[str, Field],
    convert: Callable[[Field, Any], object],
    problems: _Problems,
) -> Values | None:
    if not isinstance(row, Mapping):
        problems.add(number, "", "must be an object")
        return None
    values: Values = {}
    ok = True
    for key, cell in row.items():
        name = field_name(key)
        field = fields.get(name)
        if field is None:
            problems.add(number, key, f"not a field (fields: {', '.join(fields)})")
            ok = False
        elif name in values:
            problems.add(number, name, "given twice (snake_case and kebab-case)")
            ok = False
        else:
            try:
                values[name] = convert(field, cell)
            except FieldError as why:
                problems.add(number, name, str(why))
                ok = False
    given = {field_name(k) for k in row}
    for name, field in fields.items():
        if field.required and name not in given:
            problems.add(number, name, "required")
            ok = False
    return values if ok else None


def _checked_rows(
    content: bytes, file_format: Format, spec: tuple[Field, ...], key: str
) -> list[Values]:
    text = _text(content)
    fields = by_name(spec)
    problems = _Problems()
    numbered: Sequence[tuple[int, object]] | Iterator[tuple[int, object]]
    convert: Callable[[Field, Any], object]
    if file_format is Format.JSON:
        rows = _json_rows(text)
        if len(rows) > MAX_ROWS:
            raise _refuse(f"at most {MAX_ROWS} rows")
        numbered, convert = list(enumerate(rows, start=1)), from_json
    else:
        header_problem = _csv_header_problem(text, fields)
        if header_problem is not None:
            raise _refuse(header_problem, f"{CONTENT}.header")
        numbered, convert = _csv_rows(text, problems), from_csv
    checked: list[Values] = []
    first_row: dict[object, int] = {}
    for number, row in numbered:
        if row is None:
            continue
        values = _row_values(number, row, fields, convert, problems)
        if values is None:
            continue
        ident = values[key]
        if ident in first_row:
            problems.add(number, key, f"{ident!r} repeats row {first_row[ident]}")
            continue
        first_row[ident] = number
        checked.append(values)
    problems.raise_any()
    return checked


def _csv_header_problem(text: str, fields: Mapping[str, Field]) -> str | None:
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), strict=True), None)
    except csv.Error:
        return None  # reported with its line by the full read
    if not header:
        return "missing: a CSV file starts with a header row naming the fields"
    names = [field_name(column) for column in header]
    unknown = [column for column, name in zip(header, names, strict=True) if name not in fields]
    if unknown:
        return f"{unknown[0]!r} is not a field (fields: {', '.join(fields)})"
    if len(set(names)) != len(names):
        return "names a field twice"
    missing = [name for name, field in fields.items() if field.required and name not in names]
    if missing:
        return f"no column for required field {missing[0]}"
    return None


def _optional_text(values: Values, name: str) -> str | None:
    value = values.get(name)
    assert value is None or isinstance(value, str)
    return value


def clients_in(content: bytes, file_format: Format) -> list[Client]:
    """The file's clients, every row checked; raises InvalidRequestError otherwise."""
    return [
        Client(
            client_id=str(v["client_id"]),
            client_name=str(v["client_name"]),
            client_type=_optional_text(v, "client_type"),
            is_inactive=bool(v["is_inactive"]),
            default_currency_code=_optional_text(v, "default_currency_code"),
            account_manager_id=_optional_text(v, "account_manager_id"),
            account_manager_name=_optional_text(v, "account_manager_name"),
            billing_email=_optional_text(v, "billing_email"),
        )
        for v in _checked_rows(content, file_format, CLIENT_FIELDS, "client_id")
    ]


def services_in(content: bytes, file_format: Format) -> list[Service]:
    """The file's catalog items, every row checked; raises InvalidRequestError otherwise."""
    found: list[Service] = []
    for v in _checked_rows(content, file_format, SERVICE_FIELDS, "service_id"):
        rate = v["default_rate"]
        assert isinstance(rate, float)
        found.append(
            Service(
                service_id=str(v["service_id"]),
                service_name=str(v["service_name"]),
                item_kind=ItemKind(v["item_kind"]),
                billing_method=BillingMethod(v["billing_method"]),
                default_rate=rate,
                unit_of_measure=str(v["unit_of_measure"]),
                is_active=bool(v["is_active"]),
                service_type_id=_optional_text(v, "service_type_id"),
                service_type_name=_optional_text(v, "service_type_name"),
                sku=_optional_text(v, "sku"),
            )
        )
    return found
