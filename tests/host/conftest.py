"""A key ring, an issuer over it and a verifier of its keys, per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from extplane.host import InstallTokenIssuer, InstallTokenVerifier
from extplane.keys import KeyRing, rotate


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    rotate(tmp_path / "keys")
    return KeyRing.load(tmp_path / "keys")


@pytest.fixture
def issuer(ring: KeyRing) -> InstallTokenIssuer:
    return InstallTokenIssuer(ring)


@pytest.fixture
def verifier(ring: KeyRing) -> InstallTokenVerifier:
    return InstallTokenVerifier.from_ring(ring)
