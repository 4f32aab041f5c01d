"""Chaining a transaction's events onto the head: shared by both stores.

Runs inside the store's write transaction, after the head is read (and, on
PostgreSQL, locked) and the events' ids looked up, so the sequences it hands
out are the next ones and no id is stored twice in a namespace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from extplane.audit.chain.canonical import CURRENT_VERSION, HEADER_V2
from extplane.audit.chain.records import Appended, ChainHead, NewEvent

# A row as inserted, in schema.RECORD_COLUMNS order (event_id None: no id;
# then the canonical encoding the hash covers, the principal, its version).
InsertRow = tuple[
    int, int, int, str | None, str, str, str, str, str, str, bytes, bytes, bytes, str, int
]


# An event's idempotency key: (namespace, event_id). Ids are the producers'
# own, so one tenant's id never answers for another's.
IdKey = tuple[str, str]


class Chained(NamedTuple):
    rows: list[InsertRow]
    results: list[list[Appended]]
    head: ChainHead


def event_ids(batches: Sequence[Sequence[NewEvent]]) -> list[IdKey]:
    """The key of every event with an id (the ones to look up before chaining)."""
    return [
        (event.namespace, event.event_id) for batch in batches for event in batch if event.event_id
    ]


def chain_batches(
    batches: Sequence[Sequence[NewEvent]],
    head: ChainHead,
    stored: Mapping[IdKey, int],
    receive_time_ns: int,
) -> Chained:
    """Rows for the new events, chained from `head`; a result per event.

    `stored` maps the keys already in the log to their sequence. A key seen
    earlier in this transaction is a duplicate too: a retried batch, or the
    same event sent twice in one, is stored once.
    """
    sequence, previous = head
    rows: list[InsertRow] = []
    results: list[list[Appended]] = []
    assigned: dict[IdKey, int] = {}
    sha256 = hashlib.sha256
    pack = HEADER_V2.pack
    join = b"".join
    for batch in batches:
        outcome: list[Appended] = []
        for event in batch:
            event_id, ts, action, actor, resource, namespace, outcome_text, details, principal = (
                event
            )
            if event_id:
                key = (namespace, event_id)
                earlier = stored.get(key) or assigned.get(key)
                if earlier is not None:
                    outcome.append(Appended(earlier, True))
                    continue
                assigned[key] = sequence + 1
            sequence += 1
            # chain.canonical_bytes and record_hash, inlined: this runs for
            # every event appended.
            texts = (
                event_id.encode(),
                action.encode(),
                actor.encode(),
                resource.encode(),
                namespace.encode(),
                outcome_text.encode(),
                details.encode(),
                principal.encode(),
            )
            canonical = join((pack(sequence, ts, receive_time_ns, *map(len, texts)), *texts))
            digest = sha256(previous + canonical).digest()
            rows.append(
                (
                    sequence,
                    ts,
                    receive_time_ns,
                    event_id or None,
                    action,
                    actor,
                    resource,
                    namespace,
                    outcome_text,
                    details,
                    previous,
                    digest,
                    canonical,
                    principal,
                    CURRENT_VERSION,
                )
            )
            previous = digest
            outcome.append(Appended(sequence, False))
        results.append(outcome)
    return Chained(rows, results, ChainHead(sequence, previous))
