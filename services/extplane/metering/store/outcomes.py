"""Telling stored rows from duplicates and expired ones, for both stores."""

from __future__ import annotations

from collections.abc import Sequence

from extplane.metering.event_rows import EventRow
from extplane.metering.store import IngestOutcome


def split_expired(
    requests: Sequence[Sequence[EventRow]], horizon_ns: int | None
) -> tuple[list[Sequence[EventRow]], list[list[int]]]:
    """Each request's rows at or after the horizon, and the positions of the others."""
    if horizon_ns is None:
        return list(requests), [[] for _ in requests]
    kept: list[Sequence[EventRow]] = []
    expired: list[list[int]] = []
    for rows in requests:
        old = [i for i, row in enumerate(rows) if row[0] < horizon_ns]
        if old:
            gone = set(old)
            kept.append([row for i, row in enumerate(rows) if i not in gone])
        else:
            kept.append(rows)
        expired.append(old)
    return kept, expired


def outcomes(
    kept: Sequence[Sequence[EventRow]],
    expired: Sequence[Sequence[int]],
    inserted: Sequence[Sequence[bool]] | None,
) -> list[IngestOutcome]:
    """Outcomes per request; `inserted` is None when every kept row was stored."""
    results: list[IngestOutcome] = []
    for index, rows in enumerate(kept):
        old = expired[index]
        if inserted is None:
            flags: Sequence[bool] = ()
            duplicates: list[int] = []
        else:
            flags = inserted[index]
            duplicates = [i for i, stored in enumerate(flags) if not stored]
        if not old and not duplicates:
            results.append(IngestOutcome(accepted=len(rows)))
            continue
        # Positions of the kept rows in the request as submitted.
        gone = set(old)
        original = [i for i in range(len(rows) + len(old)) if i not in gone]
        skipped = frozenset(old) | {original[i] for i in duplicates}
        results.append(
            IngestOutcome(
                accepted=len(rows) - len(duplicates),
                duplicates=len(duplicates),
                expired=len(old),
                skipped=frozenset(skipped),
            )
        )
    return results
