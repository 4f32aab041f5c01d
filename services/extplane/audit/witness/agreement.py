"""Do the service's checkpoints agree with what a witness holds?

A legitimate service stores one checkpoint per sequence, for ever, so every
checkpoint a witness holds must be among the service's, signing the same
hash. One that differs — or is gone — means the log was rewritten and
re-signed (whoever holds the key can make the new checkpoints verify; they
cannot change the witness's copy). A witnessed checkpoint beyond the log's
last record means records were cut off the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from extplane.audit.chain.records import Checkpoint
from extplane.audit.verify.export_source import parse_checkpoints
from extplane.audit.verify.walk import Problem, TamperKind
from extplane.audit.witness.wire import (
    WITNESS_ACTION,
    WITNESS_ACTOR,
    checkpoint_of_event_details,
    witness_resource,
)
from extplane_client import AuditQueryClient


def witness_problem(
    service: Sequence[Checkpoint], witnessed: Sequence[Checkpoint], newest: int, witness: str
) -> Problem | None:
    """The first witnessed checkpoint the service contradicts; `newest` is the log's
    last sequence."""
    held = {checkpoint.sequence: checkpoint for checkpoint in service}
    for copy in sorted(witnessed):
        mine = held.get(copy.sequence)
        if mine is not None and mine.hash == copy.hash:
            continue
        if mine is not None:
            return Problem(
                copy.sequence,
                TamperKind.BAD_CHECKPOINT,
                f"the service's checkpoint at sequence {copy.sequence} signs hash "
                f"{mine.hash.hex()}, but witness {witness} holds the one signing "
                f"{copy.hash.hex()}: the log was rewritten and signed again",
            )
        if copy.sequence > newest:
            return Problem(
                newest + 1,
                TamperKind.TRUNCATED,
                f"the log ends at sequence {newest}, but witness {witness} holds a "
                f"checkpoint at {copy.sequence}",
            )
        return Problem(
            copy.sequence,
            TamperKind.BAD_CHECKPOINT,
            f"witness {witness} holds a checkpoint at sequence {copy.sequence} that the "
            "service no longer has",
        )
    return None


def read_witness_path(path: Path) -> list[Checkpoint]:
    """The checkpoints of a file witness: a directory of JSON files or a JSONL file."""
    if path.is_dir():
        text = "\n".join(
            entry.read_text().strip() for entry in sorted(path.glob("checkpoint-*.json"))
        )
        return parse_checkpoints(text)
    return parse_checkpoints(path.read_text())


async def read_remote_witness(
    client: AuditQueryClient, origin: str, timeout_s: float
) -> list[Checkpoint]:
    """The checkpoints a remote audit service recorded for the log named `origin`."""
    found: list[Checkpoint] = []
    async for record in client.iter_audit_events(
        action=WITNESS_ACTION, resource=witness_resource(origin), timeout=timeout_s
    ):
        if record.event.actor == WITNESS_ACTOR:
            found.append(checkpoint_of_event_details(dict(record.event.details)))
    return sorted(found)
