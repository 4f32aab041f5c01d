"""docs/audit.md is true: its worked example is the code's encoding byte for
byte, and its independent verifier checks a real export (and rejects a
tampered one) with no extplane code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from audit_support import AUDITOR, Audit, StartAudit, event, q
from cryptography.exceptions import InvalidSignature
from google.protobuf import json_format

from extplane.audit.chain.canonical import (
    GENESIS,
    canonical_bytes,
    canonical_details,
    checkpoint_payload,
    record_hash,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
TS = 1767225600000000000
RECEIVED = 1767225600123456789
FIELDS = ("evt-1", "tool_invoke", "agent:planner", "tool/web_search", "team-a", "allowed")
DETAILS = canonical_details({"tool": "web_search"})


def _hex_block_after(marker: str) -> bytes:
    text = DOC.read_text()
    block = re.search(re.escape(marker) + r".*?```\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None, marker
    return bytes.fromhex(re.sub(r"\s", "", block.group(1)))


def test_the_worked_example_is_the_canonical_encoding() -> None:
    encoded = canonical_bytes(1, TS, RECEIVED, *(f.encode() for f in FIELDS), DETAILS.encode())

    assert _hex_block_after("has this canonical\nencoding") == encoded
    assert len(encoded) == 130


def test_the_worked_example_hash_and_checkpoint_payload() -> None:
    text = DOC.read_text()
    digest = record_hash(GENESIS, 1, TS, RECEIVED, *FIELDS, DETAILS)
    payload = checkpoint_payload(1, digest, 1767225601000000000)

    assert f"hashes to\n`{digest.hex()}`" in text
    signed = re.search(r"2026-01-01T00:00:01Z signs\n((?:`[0-9a-f]+`\.?\n)+)", text)
    assert signed is not None
    assert bytes.fromhex(re.sub(r"[`.\n]", "", signed.group(1))) == payload


ESCAPED = r'{"k":"quote \" back \\ nl \n tab \t bell \u0007"}'


@pytest.mark.parametrize(
    ("details", "canonical"),
    [
        ({}, "{}"),
        ({"b": "2", "a": "1"}, '{"a":"1","b":"2"}'),
        ({"k": 'quote " back \\ nl \n tab \t bell \x07'}, ESCAPED),
        ({"é": "日本", "Z": "ü"}, '{"Z":"ü","é":"日本"}'),
    ],
)
def test_canonical_details_follow_the_documented_rules(
    details: dict[str, str], canonical: str
) -> None:
    assert canonical_details(details) == canonical


def _independent_verifier() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [code] = [block for block in blocks if "def verify_export" in block]
    namespace: dict[str, Any] = {"__name__": "independent_verifier"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify_export"]


async def _download(audit: Audit) -> tuple[str, list[dict[str, Any]], str]:
    chunks = audit.query.ExportAuditEvents(q.ExportAuditEventsRequest(), metadata=AUDITOR)
    jsonl = b"".join([chunk.data async for chunk in chunks]).decode()
    listed = await audit.query.ListAuditCheckpoints(
        q.ListAuditCheckpointsRequest(), metadata=AUDITOR
    )
    checkpoints = [json_format.MessageToDict(c) for c in listed.checkpoints]
    key = await audit.query.GetAuditPublicKey(q.GetAuditPublicKeyRequest(), metadata=AUDITOR)
    return jsonl, checkpoints, key.public_key_pem


async def test_the_documented_verifier_checks_a_real_export(
    start_sqlite_audit: StartAudit,
) -> None:
    audit = await start_sqlite_audit()
    odd = event(0, details={"note": 'quote " tab \t é 日本', "z": "", "a": "1"}, event_id="")
    await audit.record(odd, *(event(i) for i in range(1, 10)))
    await audit.checkpoint()
    await audit.record(*(event(i) for i in range(10, 30)))
    await audit.checkpoint()
    verify_export = _independent_verifier()
    jsonl, checkpoints, pem = await _download(audit)
    assert len(checkpoints) >= 2

    assert verify_export(jsonl, checkpoints, [pem]) == 30

    lines = jsonl.splitlines()
    edited = json.loads(lines[4])
    edited["event"]["actor"] = "intruder"
    lines[4] = json.dumps(edited)
    with pytest.raises(ValueError, match="record 5 does not match its hash"):
        verify_export("\n".join(lines), checkpoints, [pem])
    first, last = checkpoints[0], checkpoints[-1]
    forged = dict(last, signature=first["signature"])
    with pytest.raises(InvalidSignature):
        verify_export(jsonl, [first, forged], [pem])


async def test_the_documented_verifier_checks_an_export_after_pruning(
    start_sqlite_audit: StartAudit,
) -> None:
    audit = await start_sqlite_audit(retention_days=1)
    await audit.record(*(event(i) for i in range(1, 11)))
    await audit.checkpoint()
    audit.clock.advance(2 * 86_400)
    await audit.record(*(event(i, at_ns=audit.clock()) for i in range(11, 16)))
    retention = audit.service.retention
    assert retention is not None
    assert await retention.prune_once()
    await audit.checkpoint()
    verify_export = _independent_verifier()
    jsonl, checkpoints, pem = await _download(audit)
    assert json.loads(jsonl.splitlines()[0])["sequence"] == "11"

    assert verify_export(jsonl, checkpoints, [pem]) == 16

    anchor = next(c for c in checkpoints if c["sequence"] == "10")
    anchor["hash"] = "00" * 32  # an anchor the key never signed
    with pytest.raises(InvalidSignature):
        verify_export(jsonl, checkpoints, [pem])
    with pytest.raises(KeyError):
        verify_export(jsonl, [c for c in checkpoints if c is not anchor], [pem])
