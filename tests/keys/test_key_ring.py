"""The key ring on disk: private files, one active signer, retired verifiers,
atomic rotation, the directory re-read while running, and the public forms."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from extplane.keys import (
    KeyRing,
    KeyRingError,
    SigningKey,
    VerificationKey,
    WatchedKeyRing,
    has_keys,
    rotate,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rotation_adds_an_active_key_and_keeps_the_retired_ones(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    assert not has_keys(directory)

    first = rotate(directory)
    second = rotate(directory)
    ring = KeyRing.load(directory)

    assert ring.active.key_id == second.key_id
    assert set(ring.keys) == {first.key_id, second.key_id}
    assert [key.key_id for key in ring] == [second.key_id, first.key_id]
    assert _mode(directory) == 0o700
    assert {path.name: _mode(path) for path in directory.iterdir()} == {
        f"{first.key_id}.pem": 0o600,
        f"{second.key_id}.pem": 0o600,
        "active": 0o600,
    }
    payload = b"signed before the rotation"
    assert ring.keys[first.key_id].verifies(first.sign(payload), payload)
    assert not ring.keys[second.key_id].verifies(first.sign(payload), payload)


def test_the_key_id_is_the_sha256_of_the_raw_public_key(tmp_path: Path) -> None:
    key = SigningKey.generate()
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    assert key.key_id == hashlib.sha256(raw).hexdigest()
    jwk = key.jwk()
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert jwk["alg"] == "EdDSA"
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw
    assert jwk["kid"] == key.key_id
    assert VerificationKey.from_pem(key.public_key_pem.encode()).key_id == key.key_id


def test_a_retired_key_may_be_kept_as_its_public_half_only(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    old = rotate(directory)
    rotate(directory)
    (directory / f"{old.key_id}.pem").write_text(old.public_key_pem)

    ring = KeyRing.load(directory)

    assert type(ring.keys[old.key_id]) is VerificationKey
    assert ring.jwks()["keys"][1]["kid"] == old.key_id


def test_a_single_key_without_an_active_file_is_active(tmp_path: Path) -> None:
    key = SigningKey.generate()
    (tmp_path / f"{key.key_id}.pem").write_bytes(key.private_pem())

    assert KeyRing.load(tmp_path).active.key_id == key.key_id


@pytest.mark.parametrize(
    "damage", ["garbage", "ec key", "misnamed", "active names a stranger", "active is public"]
)
def test_an_unusable_directory_is_refused_naming_the_file(tmp_path: Path, damage: str) -> None:
    key = rotate(tmp_path)
    path = tmp_path / f"{key.key_id}.pem"
    if damage == "garbage":
        path.write_text("not a key")
    elif damage == "ec key":
        path.write_bytes(
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    elif damage == "misnamed":
        path.rename(tmp_path / "other.pem")
        path = tmp_path / "other.pem"
    elif damage == "active names a stranger":
        (tmp_path / "active").write_text("f" * 64)
        path = tmp_path / "active"
    else:
        path.write_text(key.public_key_pem)
        path = tmp_path / "active"

    with pytest.raises(KeyRingError, match=str(path)):
        KeyRing.load(tmp_path)


def test_two_private_keys_and_no_active_file_are_refused(tmp_path: Path) -> None:
    rotate(tmp_path)
    rotate(tmp_path)
    (tmp_path / "active").unlink()

    with pytest.raises(KeyRingError, match="no active file"):
        KeyRing.load(tmp_path)


def test_a_watched_ring_follows_a_rotation_and_survives_a_broken_one(tmp_path: Path) -> None:
    first = rotate(tmp_path)
    watched = WatchedKeyRing(KeyRing.load(tmp_path))
    assert not watched.refresh()

    second = rotate(tmp_path)
    assert watched.refresh()
    assert watched.current.active.key_id == second.key_id
    assert set(watched.current.keys) == {first.key_id, second.key_id}

    (tmp_path / "active").write_text("nonsense")
    assert not watched.refresh()
    assert watched.current.active.key_id == second.key_id
