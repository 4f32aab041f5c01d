"""`extplane audit verify`, `public-key` and `rotate-key`, against a running service
(verification that does not trust it: test_audit_trust.py)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from audit_support import AUDITOR_TOKEN, BILLING_TOKEN, Audit, StartAudit, event, q
from cryptography.hazmat.primitives import serialization

from extplane.keys import KeyRing, rotate

REPO = Path(__file__).resolve().parents[2]


async def _extplane(*args: str, token: str | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    if token is not None:
        env["EXTPLANE_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "extplane.cli",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def audit(start_sqlite_audit: StartAudit) -> Audit:
    audit = await start_sqlite_audit()
    await audit.record(*(event(i) for i in range(1, 11)))
    await audit.checkpoint()
    await audit.record(*(event(i) for i in range(11, 16)))
    return audit


async def test_verify_exits_0_when_intact(audit: Audit) -> None:
    code, out, _ = await _extplane(
        "audit", "verify", "--address", audit.address, token=AUDITOR_TOKEN
    )

    assert code == 0
    assert "intact: sequences 1..15 (15 records, 1 checkpoints verified)" in out


async def test_verify_of_a_range_and_with_the_token_option(audit: Audit) -> None:
    code, out, _ = await _extplane(
        "audit", "verify", "--from", "12", "--to", "14", "--address", audit.address,
        "--token", AUDITOR_TOKEN,
    )  # fmt: skip

    assert code == 0
    assert "sequences 11..14" in out


async def test_verify_exits_1_naming_the_first_problem(audit: Audit) -> None:
    await audit.editor().execute(("UPDATE audit_records SET actor = 'x' WHERE sequence = 7", []))

    code, out, _ = await _extplane(
        "audit", "verify", "--address", audit.address, token=AUDITOR_TOKEN
    )

    assert code == 1
    assert "TAMPERED: MODIFIED at sequence 7" in out
    assert "sequences 1..6" in out


@pytest.mark.parametrize(
    ("token", "says"),
    [(None, "UNAUTHENTICATED"), (BILLING_TOKEN, "PERMISSION_DENIED")],
)
async def test_verify_exits_3_when_it_cannot_ask(
    audit: Audit, token: str | None, says: str
) -> None:
    code, _, err = await _extplane("audit", "verify", "--address", audit.address, token=token)

    assert code == 3
    assert says in err


async def test_a_bad_range_is_refused_by_the_service(audit: Audit) -> None:
    code, _, err = await _extplane(
        "audit", "verify", "--from", "99", "--address", audit.address, token=AUDITOR_TOKEN
    )

    assert code == 3
    assert "INVALID_ARGUMENT" in err
    assert "beyond the head" in err


async def test_public_key_prints_the_pem_of_the_signing_key(audit: Audit) -> None:
    code, out, err = await _extplane(
        "audit", "public-key", "--address", audit.address, token=AUDITOR_TOKEN
    )

    assert code == 0
    printed = serialization.load_pem_public_key(out.encode())
    served = await audit.query.GetAuditPublicKey(
        q.GetAuditPublicKeyRequest(), metadata=(("authorization", f"Bearer {AUDITOR_TOKEN}"),)
    )
    assert out == served.public_key_pem
    assert served.key_id in err
    assert (
        printed.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        == out
    )


async def test_public_key_lists_every_key_and_as_a_jwk_set(audit: Audit) -> None:
    running = audit.service.running
    assert running is not None
    directory = running.keys.ring.directory
    old = running.keys.ring.active
    new = rotate(directory)

    code, out, err = await _extplane(
        "audit", "public-key", "--address", audit.address, token=AUDITOR_TOKEN
    )
    jwks_code, jwks, _ = await _extplane(
        "audit", "public-key", "--jwks", "--address", audit.address, token=AUDITOR_TOKEN
    )

    assert code == 0
    assert out == new.public_key_pem + old.public_key_pem
    assert err.splitlines() == [
        f"key id {new.key_id} (Ed25519, active)",
        f"key id {old.key_id} (Ed25519, retired)",
    ]
    assert jwks_code == 0
    assert json.loads(jwks) == {"keys": [new.jwk(), old.jwk()]}


async def test_rotate_key_refuses_an_empty_ring_and_first_refuses_a_full_one(
    tmp_path: Path,
) -> None:
    ring = tmp_path / "keys"

    code, _, err = await _extplane("audit", "rotate-key", "--key-dir", str(ring))
    assert code == 2
    assert err.strip() == f"extplane: {ring} holds no keys (--first makes one)"

    code, out, _ = await _extplane("audit", "rotate-key", "--key-dir", str(ring), "--first")
    assert code == 0
    first = KeyRing.load(ring).active
    assert out.strip() == f"active key {first.key_id} in {ring} (was none)"

    code, _, err = await _extplane("audit", "rotate-key", "--key-dir", str(ring), "--first")
    assert code == 2
    assert err.strip() == f"extplane: {ring} already holds keys"
    assert KeyRing.load(ring).active.key_id == first.key_id
