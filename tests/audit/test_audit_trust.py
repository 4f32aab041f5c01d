"""Verification that does not trust the server, over real services and the CLI:
an attacker rewrites the database, recomputes every hash and signs the
checkpoints again — with a new key (caught by pinned keys) or with the
service's own key read from its disk (caught by witnesses: a directory, a
file, a second audit service). The service's own verdict says intact both
times."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from audit_support import AUDITOR_TOKEN, WRITER_TOKEN, Audit, StartAudit, event
from prometheus_client import CollectorRegistry
from rewriting import rewrite_and_resign
from test_audit_docs import _independent_verifier

from extplane.keys import KeyRing, SigningKey, rotate

REPO = Path(__file__).resolve().parents[2]


async def extplane(*args: str | Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    env["EXTPLANE_TOKEN"] = env["EXTPLANE_WITNESS_TOKEN"] = AUDITOR_TOKEN
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "extplane.cli",
        *map(str, args),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def key_dir(audit: Audit) -> Path:
    return audit.service._kit.data_dir / "audit-keys"


async def signed_log(audit: Audit) -> None:
    await audit.record(*(event(i) for i in range(1, 11)))
    await audit.checkpoint()
    await audit.record(*(event(i) for i in range(11, 16)))
    await audit.checkpoint()


async def pinned_key_file(audit: Audit, path: Path) -> Path:
    code, out, err = await extplane("audit", "public-key", "--address", audit.address)
    assert code == 0, err
    await asyncio.to_thread(path.write_text, out)
    return path


async def test_pinned_keys_catch_a_log_signed_again_with_a_new_key(
    start_audit: StartAudit, tmp_path: Path
) -> None:
    audit = await start_audit()
    await signed_log(audit)
    pinned = await pinned_key_file(audit, tmp_path / "pinned.pem")
    (old_id,) = KeyRing.load(key_dir(audit)).keys
    code, out, _ = await extplane(
        "audit", "verify", "--public-key", pinned, "--address", audit.address
    )
    assert code == 0, out
    assert out.startswith("intact: sequences 1..15 (15 records, 2 checkpoints verified)")

    new_key = SigningKey.generate()
    await rewrite_and_resign(audit.editor(), 4, "intruder", new_key)
    await audit.service.stop()
    shutil.rmtree(key_dir(audit))
    rotate(key_dir(audit), new_key)  # the service now holds (and publishes) the new key
    audit = await start_audit()

    assert (await audit.verify()).intact  # the server vouches for its rewritten log
    for pin in (["--public-key", pinned], ["--key-id", old_id]):
        code, out, _ = await extplane("audit", "verify", *pin, "--address", audit.address)
        assert code == 1, out
        assert out.startswith("TAMPERED: BAD_CHECKPOINT at sequence 10: ")
        assert f"signed by key {new_key.key_id}, which is not a trusted key" in out


async def _witnessed(witness: Audit, count: int) -> None:
    for _ in range(200):
        held = await witness.list_all(action="audit.checkpoint")
        if len(held) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the remote witness holds {len(held)} checkpoints, not {count}")


def _witness_counts(registry: CollectorRegistry, witness: str, outcome: str) -> float | None:
    return registry.get_sample_value(
        "extplane_audit_witness_checkpoints_total", {"witness": witness, "outcome": outcome}
    )


async def test_witnesses_catch_a_log_signed_again_with_the_stolen_key(
    start_audit: StartAudit, witness_audit: Audit, tmp_path: Path
) -> None:
    directory, jsonl = tmp_path / "witness-dir", tmp_path / "witness-file" / "checkpoints.jsonl"
    directory.mkdir()
    audit = await start_audit(
        witness_files=[directory, jsonl],
        witness_sinks=[{"address": witness_audit.address, "token": WRITER_TOKEN}],
        witness_origin="prod-audit",
    )
    await signed_log(audit)
    await _witnessed(witness_audit, 2)
    held = await witness_audit.list_all(action="audit.checkpoint")
    assert {record.principal for record in held} == {"ingest-a"}  # the writer token's name
    for witness in (directory, jsonl):
        for _ in range(100):
            if _witness_counts(audit.registry, f"file:{witness}", "written") == 2:
                break
            await asyncio.sleep(0.05)
        assert _witness_counts(audit.registry, f"file:{witness}", "written") == 2
    assert len(list(directory.iterdir())) == 2
    pinned = await pinned_key_file(audit, tmp_path / "pinned.pem")
    witnesses = [
        ["--witness", directory],
        ["--witness", jsonl],
        ["--witness", f"audit:{witness_audit.address}", "--origin", "prod-audit"],
    ]
    for witness in witnesses:
        code, out, err = await extplane("audit", "verify", *witness, "--address", audit.address)
        assert code == 0, out + err

    stolen = KeyRing.load(key_dir(audit)).active  # the key, read from the server's disk
    await rewrite_and_resign(audit.editor(), 4, "intruder", stolen)

    assert (await audit.verify()).intact
    code, out, _ = await extplane(
        "audit", "verify", "--public-key", pinned, "--address", audit.address
    )
    assert code == 0, out  # the same key: pinning alone cannot tell
    for witness in witnesses:
        code, out, _ = await extplane(
            "audit", "verify", "--public-key", pinned, *witness, "--address", audit.address
        )
        assert code == 1, out
        assert out.startswith("TAMPERED: BAD_CHECKPOINT at sequence 10: the service's checkpoint")
        assert f"but witness {witness[1]} holds the one signing" in out


async def test_a_witness_that_cannot_be_written_is_counted_and_the_log_goes_on(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    audit = await start_sqlite_audit(witness_files=[blocked / "checkpoints.jsonl"])

    await audit.record(event(1))
    await audit.checkpoint()

    name = f"file:{blocked / 'checkpoints.jsonl'}"
    for _ in range(100):
        if _witness_counts(audit.registry, name, "failed") == 1:
            break
        await asyncio.sleep(0.05)
    assert _witness_counts(audit.registry, name, "failed") == 1
    assert (await audit.verify()).intact


async def test_an_export_verifies_offline_as_the_documented_verifier_says(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    audit = await start_sqlite_audit()
    await audit.record(*(event(i) for i in range(1, 11)))
    await audit.checkpoint()
    rotate(key_dir(audit))  # a rotation mid-log: the export spans two keys
    await audit.record(*(event(i) for i in range(11, 21)))
    await audit.checkpoint()
    export, checkpoints = tmp_path / "log.jsonl", tmp_path / "checkpoints.jsonl"
    where = ("--address", audit.address)
    assert (await extplane("audit", "export", "-o", export, *where))[0] == 0
    assert (await extplane("audit", "checkpoints", "-o", checkpoints, *where))[0] == 0
    keys = await pinned_key_file(audit, tmp_path / "keys.pem")
    await audit.service.stop()  # no service from here on
    offline = ("audit", "verify", "--offline", export, "--checkpoints", checkpoints)
    documented = _independent_verifier()
    pems = [
        f"-----BEGIN PUBLIC KEY-----{block}"
        for block in keys.read_text().split("-----BEGIN PUBLIC KEY-----")[1:]
    ]

    listed = [json.loads(line) for line in checkpoints.read_text().splitlines()]

    code, out, err = await extplane(*offline, "--public-key", keys)
    assert code == 0, out + err
    assert out.startswith("intact: sequences 1..20 (20 records, 2 checkpoints verified)")
    assert documented(export.read_text(), listed, pems) == 20

    original = export.read_text()
    lines = original.splitlines()
    record = json.loads(lines[4])
    record["event"]["actor"] = "intruder"
    lines[4] = json.dumps(record)
    export.write_text("\n".join(lines) + "\n")
    code, out, _ = await extplane(*offline, "--public-key", keys)
    assert code == 1
    assert out.startswith("TAMPERED: MODIFIED at sequence 5: ")
    with pytest.raises(ValueError, match="record 5 does not match its hash"):
        documented(export.read_text(), listed, pems)

    export.write_text(original)
    only_new = tmp_path / "new.pem"
    only_new.write_text(pems[0])
    code, out, _ = await extplane(*offline, "--public-key", only_new)
    assert code == 1
    assert "BAD_CHECKPOINT at sequence 10" in out


async def test_verify_here_refuses_what_does_not_go_together(tmp_path: Path) -> None:
    code, _, err = await extplane("audit", "verify", "--offline", tmp_path / "x.jsonl")
    assert code == 2
    assert err.strip() == (
        "extplane: --offline needs --checkpoints FILE and at least one --public-key FILE"
    )
    code, _, err = await extplane("audit", "verify", "--from", "3", "--key-id", "ab")
    assert code == 2
    assert "--from/--to" in err
