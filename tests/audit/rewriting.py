"""The attack verification must survive: rewrite the log in the database with
every hash recomputed, and re-sign the checkpoints with a key of the
attacker's choosing (a new one, or the service's own, read from its disk)."""

from __future__ import annotations

import hashlib

from audit_support import DatabaseEditor

from extplane.audit.chain.canonical import canonical_bytes
from extplane.audit.chain.signing import CheckpointSigner
from extplane.keys import SigningKey

_COLUMNS = (
    "sequence, timestamp_ns, receive_time_ns, coalesce(event_id, ''), action, actor, resource,"
    " namespace, outcome, details, principal, canonical_version, previous_hash, hash"
)


async def rewrite_and_resign(
    editor: DatabaseEditor, sequence: int, actor: str, key: SigningKey
) -> None:
    """Give record `sequence` another actor, recompute every hash from it on, move
    the head, and sign every checkpoint again with `key`."""
    rows = await editor.fetch(f"SELECT {_COLUMNS} FROM audit_records ORDER BY sequence")
    hashes: dict[int, bytes] = {}
    updates: list[tuple[str, list[object]]] = []
    previous = b""
    for row in rows:
        seq, ts, rt, event_id, action, who, resource, namespace, outcome, details = row[:10]
        principal, version, stored_previous, stored_hash = row[10:]
        if seq < sequence:
            hashes[seq] = bytes(stored_hash)
            continue
        if seq == sequence:
            who = actor
            previous = bytes(stored_previous)
        texts = (event_id, action, who, resource, namespace, outcome, details)
        canonical = canonical_bytes(
            seq,
            ts,
            rt,
            *(text.encode() for text in texts),
            principal=None if version == 1 else principal.encode(),
        )
        digest = hashlib.sha256(previous + canonical).digest()
        updates.append(
            (
                "UPDATE audit_records SET actor = ?, canonical = ?, previous_hash = ?, hash = ?"
                " WHERE sequence = ?",
                [who, canonical, previous, digest, seq],
            )
        )
        hashes[seq] = digest
        previous = digest
    updates.append(("UPDATE audit_head SET hash = ?", [previous]))
    signer = CheckpointSigner(key)
    for seq, created in await editor.fetch(
        "SELECT sequence, create_time_ns FROM audit_checkpoints ORDER BY sequence"
    ):
        signed = signer.sign(seq, hashes[seq], created)
        updates.append(
            (
                "UPDATE audit_checkpoints SET hash = ?, key_id = ?, signature = ?"
                " WHERE sequence = ?",
                [signed.hash, signed.key_id, signed.signature, seq],
            )
        )
    await editor.execute(*updates)
