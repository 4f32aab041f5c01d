"""The checkpoint keys of a running log: a first key only for a fresh log, a
refusal for a log whose keys are missing or do not match, and rotation with no
restart that keeps every older checkpoint verifying."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
from audit_support import AUDITOR, Audit, StartAudit, event, q

from extplane.keys import KeyRing, KeyRingError, SigningKey, rotate

REPO = Path(__file__).resolve().parents[2]


def _key_dir(audit: Audit) -> Path:
    return audit.service._kit.data_dir / "audit-keys"


async def _checkpoint_key_ids(audit: Audit) -> list[str]:
    page = await audit.query.ListAuditCheckpoints(q.ListAuditCheckpointsRequest(), metadata=AUDITOR)
    return [checkpoint.key_id for checkpoint in page.checkpoints]


async def _signed_log(start_audit: StartAudit, **options: object) -> Audit:
    audit = await start_audit(**options)
    await audit.record(*(event(i) for i in range(1, 6)))
    await audit.checkpoint()
    return audit


async def test_a_fresh_log_generates_its_first_key_and_says_which(
    start_sqlite_audit: StartAudit, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        audit = await start_sqlite_audit()

    ring = KeyRing.load(_key_dir(audit))
    assert f"audit signing key {ring.active.key_id} generated" in caplog.text
    served = await audit.query.GetAuditPublicKey(q.GetAuditPublicKeyRequest(), metadata=AUDITOR)
    assert served.key_id == ring.active.key_id
    assert [(k.key_id, k.active) for k in served.keys] == [(ring.active.key_id, True)]


async def test_a_log_with_checkpoints_and_no_key_refuses_to_start(
    start_audit: StartAudit,
) -> None:
    audit = await _signed_log(start_audit)
    await audit.service.stop()
    shutil.rmtree(_key_dir(audit))

    with pytest.raises(KeyRingError, match=f"no signing key is in {_key_dir(audit)}"):
        await start_audit()
    assert not _key_dir(audit).exists()  # nothing generated over the signed history


async def test_a_key_that_did_not_sign_the_checkpoints_is_refused(start_audit: StartAudit) -> None:
    audit = await _signed_log(start_audit)
    (signed_with,) = await _checkpoint_key_ids(audit)
    await audit.service.stop()
    shutil.rmtree(_key_dir(audit))
    rotate(_key_dir(audit))  # someone else's key, put in its place

    with pytest.raises(KeyRingError, match=f"signed by key.*{signed_with}"):
        await start_audit()


async def _rotate_key_cli(directory: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "extplane.cli",
        "audit",
        "rotate-key",
        "--key-dir",
        str(directory),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_rotation_mid_log_keeps_the_whole_log_verifying(start_audit: StartAudit) -> None:
    audit = await _signed_log(start_audit)
    (old,) = await _checkpoint_key_ids(audit)

    printed = await _rotate_key_cli(_key_dir(audit))
    new = KeyRing.load(_key_dir(audit)).active.key_id
    assert new != old
    assert new in printed
    # The running service signs the next checkpoint with the new key: no restart.
    await audit.record(*(event(i) for i in range(6, 11)))
    await audit.checkpoint()

    assert await _checkpoint_key_ids(audit) == [old, new]
    verdict = await audit.verify()
    assert verdict.intact, verdict.first_problem.detail
    assert (verdict.records_verified, verdict.checkpoints_verified) == (10, 2)
    served = await audit.query.GetAuditPublicKey(q.GetAuditPublicKeyRequest(), metadata=AUDITOR)
    assert served.key_id == new
    assert [(k.key_id, k.active) for k in served.keys] == [(new, True), (old, False)]

    await audit.service.stop()
    again = await start_audit()
    assert (await again.verify()).intact


async def test_a_checkpoint_signed_by_a_key_dropped_from_the_ring_is_bad(
    start_sqlite_audit: StartAudit,
) -> None:
    audit = await _signed_log(start_sqlite_audit)
    (old,) = await _checkpoint_key_ids(audit)
    rotate(_key_dir(audit))
    (_key_dir(audit) / f"{old}.pem").unlink()

    verdict = await audit.verify()

    assert not verdict.intact
    assert verdict.first_problem.kind == q.AUDIT_TAMPER_KIND_BAD_CHECKPOINT
    assert f"signed by key {old}, which is not a trusted key" in verdict.first_problem.detail


async def test_a_legacy_key_file_is_imported_into_the_ring(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    legacy = SigningKey.generate()
    path = tmp_path / "secret" / "checkpoints.pem"
    path.parent.mkdir()
    path.write_bytes(legacy.private_pem())

    audit = await start_sqlite_audit(signing_key_file=path)

    assert KeyRing.load(_key_dir(audit)).active.key_id == legacy.key_id
    served = await audit.query.GetAuditPublicKey(q.GetAuditPublicKeyRequest(), metadata=AUDITOR)
    assert served.key_id == legacy.key_id


async def test_the_key_directory_is_a_setting(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    mounted = tmp_path / "secret-mount"
    key = rotate(mounted)

    audit = await start_sqlite_audit(signing_key_dir=mounted)
    await audit.record(event(1))
    await audit.checkpoint()

    assert await _checkpoint_key_ids(audit) == [key.key_id]
    assert not _key_dir(audit).exists()


async def test_the_service_refuses_to_start_with_a_bad_key_file(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    path = tmp_path / "bad.pem"
    path.write_text("not a key")

    with pytest.raises(KeyRingError, match=str(path)):
        await start_sqlite_audit(signing_key_file=path)
