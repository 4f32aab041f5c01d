"""The checkpoint signing key: created on first start (0600, PKCS#8 PEM
Ed25519), reused after, one key even when processes race to create it, and
a clear refusal for a file that is not such a key."""

from __future__ import annotations

import logging
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from audit_support import AUDITOR, StartAudit, q
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from extplane.audit.chain.signing import SigningKeyError, load_or_create_signer


def test_the_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit.pem"

    first = load_or_create_signer(path)
    again = load_or_create_signer(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert first.key_id == again.key_id
    assert list(path.parent.iterdir()) == [path]


def test_racing_creators_end_up_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.pem"

    with ThreadPoolExecutor(8) as pool:
        signers = list(pool.map(lambda _: load_or_create_signer(path), range(8)))

    assert len({signer.key_id for signer in signers}) == 1
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("content", ["garbage", "ec"])
def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "audit.pem"
    if content == "ec":
        path.write_bytes(
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    else:
        path.write_text("not a key")

    with pytest.raises(SigningKeyError, match=str(path)):
        load_or_create_signer(path)


def test_a_key_readable_by_others_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.pem"
    load_or_create_signer(path)
    path.chmod(0o644)

    with caplog.at_level(logging.WARNING):
        load_or_create_signer(path)

    assert "readable by others" in caplog.text


async def test_the_service_signs_with_the_configured_key_file(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    path = tmp_path / "secret" / "checkpoints.pem"
    expected = load_or_create_signer(path).key_id

    audit = await start_sqlite_audit(signing_key_file=path)
    key = await audit.query.GetAuditPublicKey(q.GetAuditPublicKeyRequest(), metadata=AUDITOR)

    assert key.key_id == expected


async def test_the_service_refuses_to_start_with_a_bad_key_file(
    start_sqlite_audit: StartAudit, tmp_path: Path
) -> None:
    path = tmp_path / "bad.pem"
    path.write_text("not a key")

    with pytest.raises(SigningKeyError):
        await start_sqlite_audit(signing_key_file=path)
