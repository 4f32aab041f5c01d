"""The fields of a catalog file's rows: which are required, what each holds,
and the one check every backend and format shares (docs/host.md).

A field is named as in the WIT record, snake_case (`billing_email`); the
kebab-case spelling (`billing-email`) is accepted too. A WIT `option<…>`
field may be left out, `null` (JSON) or an empty cell (CSV); any other field
is required.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from extplane.host.catalogs.model import BillingMethod, ItemKind
from extplane.runtime import bounds

_CONTROL = re.compile(f"[{bounds.CONTROL_CHARACTERS}]")
# local@domain.tld: the shape an invoice address must have, not RFC 5321 in full.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_EMAIL_LENGTH = 254


class Kind(enum.Enum):
    TEXT = "text"
    BOOL = "bool"
    NUMBER = "number"
    CHOICE = "choice"


class FieldError(ValueError):
    """Why one cell is refused (the message names no row or field: the caller does)."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    required: bool
    max_length: int = 0
    choices: tuple[str, ...] = ()
    shape: Callable[[str], str | None] | None = None


def _email_problem(value: str) -> str | None:
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value):
        return "not an email address (local@domain.tld)"
    return None


def _currency_problem(value: str) -> str | None:
    if not _CURRENCY.fullmatch(value):
        return "not an ISO 4217 code (three capital letters, e.g. EUR)"
    return None


def _text(name: str, max_length: int, *, required: bool = False, **more: object) -> Field:
    return Field(name, Kind.TEXT, required, max_length, **more)  # type: ignore[arg-type]


CLIENT_FIELDS: tuple[Field, ...] = (
    _text("client_id", 128, required=True),
    _text("client_name", 256, required=True),
    _text("client_type", 64),
    Field("is_inactive", Kind.BOOL, required=True),
    _text("default_currency_code", 3, shape=_currency_problem),
    _text("account_manager_id", 128),
    _text("account_manager_name", 256),
    _text("billing_email", MAX_EMAIL_LENGTH, shape=_email_problem),
)

SERVICE_FIELDS: tuple[Field, ...] = (
    _text("service_id", 128, required=True),
    _text("service_name", 256, required=True),
    Field("item_kind", Kind.CHOICE, True, choices=tuple(k.value for k in ItemKind)),
    Field("billing_method", Kind.CHOICE, True, choices=tuple(b.value for b in BillingMethod)),
    _text("service_type_id", 128),
    _text("service_type_name", 256),
    Field("default_rate", Kind.NUMBER, required=True),
    _text("unit_of_measure", 64, required=True),
    Field("is_active", Kind.BOOL, required=True),
    _text("sku", 128),
)


def by_name(fields: tuple[Field, ...]) -> Mapping[str, Field]:
    return {f.name: f for f in fields}


def field_name(key: str) -> str:
    """A row key as the field it names: kebab-case spelled snake_case."""
    return key.replace("-", "_")


def _checked_text(field: Field, value: str) -> str:
    if _CONTROL.search(value):
        raise FieldError("must not hold control characters")
    if len(value) > field.max_length:
        raise FieldError(f"at most {field.max_length} characters")
    if field.shape is not None:
        problem = field.shape(value)
        if problem is not None:
            raise FieldError(problem)
    return value


def from_json(field: Field, value: object) -> object:
    """The value of a JSON cell; None for an absent option."""
    if value is None:
        if field.required:
            raise FieldError("required")
        return None
    if field.kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise FieldError("must be true or false")
        return value
    if field.kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldError("must be a number")
        return _checked_number(float(value))
    if not isinstance(value, str):
        raise FieldError("must be a string")
    return _checked_string(field, value)


def from_csv(field: Field, cell: str) -> object:
    """The value of a CSV cell; an empty cell is an absent option."""
    if cell == "":
        if field.required:
            raise FieldError("required")
        return None
    if field.kind is Kind.BOOL:
        folded = cell.lower()
        if folded not in ("true", "false"):
            raise FieldError("must be true or false")
        return folded == "true"
    if field.kind is Kind.NUMBER:
        try:
            number = float(cell)
        except ValueError:
            raise FieldError("must be a number") from None
        return _checked_number(number)
    return _checked_string(field, cell)


def _checked_number(number: float) -> float:
    if not math.isfinite(number):
        raise FieldError("must be a finite number")
    if number < 0:
        raise FieldError("must not be negative")
    return number


def _checked_string(field: Field, value: str) -> str | None:
    # An empty string is no value in either format, so a JSON "" and an empty
    # CSV cell load the same.
    if value == "":
        if field.required:
            raise FieldError("required")
        return None
    if field.kind is Kind.CHOICE:
        if value not in field.choices:
            raise FieldError(f"must be one of {', '.join(field.choices)}")
        return value
    return _checked_text(field, value)
