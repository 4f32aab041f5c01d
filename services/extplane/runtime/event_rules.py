"""What every sink checks of an ingested event, and how a request is all or nothing.

Each sink writes its event's rules twice: a fast check that turns a valid
event into what it stores (or None), and an explanation listing every rule a
failing event breaks. `validate_one` / `validate_batch` run them the same way
for every sink: a request with any failing event is refused with all the
violations (`event.x`, or `events[3].x`) and nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.service_settings import SinkSettings
from extplane.runtime.timestamps import NS_PER_S, datetime_ns, rfc3339

E = TypeVar("E")
R = TypeVar("R")


@dataclass(frozen=True)
class TimeWindow:
    """The event timestamps one request accepts, ns since the epoch (inclusive)."""

    earliest_ns: int
    latest_ns: int
    # What sets the earliest time, for the refusal's message.
    earliest_is: str = "the earliest accepted time"

    def no_earlier_than(self, earliest_ns: int, because: str) -> TimeWindow:
        """This window, starting at `earliest_ns` when that is later."""
        if earliest_ns <= self.earliest_ns:
            return self
        return TimeWindow(earliest_ns, self.latest_ns, because)

    @classmethod
    def at(cls, now_ns: int, settings: SinkSettings) -> TimeWindow:
        """From `min_timestamp` to `max_future_skew_s` past the service's clock."""
        return cls(
            datetime_ns(settings.min_timestamp),
            now_ns + int(settings.max_future_skew_s * NS_PER_S),
        )


def timestamp_problem(ts: Timestamp | None, window: TimeWindow) -> str | None:
    """Why an event's `timestamp` (None: unset) is refused, or None."""
    if ts is None:
        return "required"
    if not 0 <= ts.nanos < NS_PER_S:
        return "nanos must be in 0..999999999"
    at = ts.seconds * NS_PER_S + ts.nanos
    if at < window.earliest_ns:
        return f"before {window.earliest_is} ({rfc3339(window.earliest_ns)})"
    if at > window.latest_ns:
        return f"too far in the future (latest accepted now: {rfc3339(window.latest_ns)})"
    return None


def text_problem(value: str, max_chars: int, *, required: bool = False) -> str | None:
    """Why a text field is refused, or None: storable text only (no control, format or
    separator characters, which also keeps NUL out of PostgreSQL)."""
    if required and not value:
        return "required"
    if len(value) > max_chars:
        return f"at most {max_chars} characters"
    if not value.isprintable():
        return "printable characters only"
    return None


Convert = Callable[[E], R | None]
Explain = Callable[[E, str], list[FieldViolation]]


def _explained(explain: Explain[E], event: E, prefix: str) -> list[FieldViolation]:
    # The two checks are written to agree; should they ever not, still refuse.
    return explain(event, prefix) or [FieldViolation(prefix, "invalid event")]


def validate_one(present: bool, event: E, convert: Convert[E, R], explain: Explain[E]) -> R:
    """A unary request's `event`, converted; raises naming `event.*`."""
    if not present:
        raise InvalidRequestError.field("event", "required")
    valid = convert(event)
    if valid is None:
        raise InvalidRequestError(_explained(explain, event, "event"))
    return valid


def validate_batch(
    events: Sequence[E], convert: Convert[E, R], explain: Explain[E], *, max_events: int
) -> list[R]:
    """Every event of a batch, converted; raises naming `events[i].*` for each failing
    one (all or nothing: one bad event refuses the batch)."""
    if not events:
        raise InvalidRequestError.field("events", "at least one event is required")
    if len(events) > max_events:
        raise InvalidRequestError.field(
            "events", f"at most {max_events} events per call, got {len(events)}"
        )
    valid: list[R] = []
    violations: list[FieldViolation] = []
    for index, event in enumerate(events):
        checked = convert(event)
        if checked is None:
            violations.extend(_explained(explain, event, f"events[{index}]"))
        elif not violations:
            valid.append(checked)
    if violations:
        raise InvalidRequestError(violations)
    return valid
