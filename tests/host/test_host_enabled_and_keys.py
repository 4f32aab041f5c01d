"""The two things the host keeps fresh while serving: which installs are
disabled (a snapshot with a bounded age) and the token key ring (rotations
followed without a restart). Clocks and refreshes are driven by the tests."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from extplane.errors import UnauthenticatedError
from extplane.host import InstallTokenIssuer, InstallTokenVerifier
from extplane.host.enabled import EnabledInstalls, Key
from extplane.host.token_keys import TokenKeys, open_ring
from extplane.keys import KeyRing, rotate


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Store:
    """What the store says is disabled; `gate` holds a read in flight."""

    def __init__(self) -> None:
        self.disabled: set[Key] = set()
        self.gate: asyncio.Event | None = None

    async def load(self) -> frozenset[Key]:
        seen = frozenset(self.disabled)
        if self.gate is not None:
            await self.gate.wait()
        return seen


async def test_nothing_is_enabled_before_the_first_read_or_once_the_snapshot_is_too_old() -> None:
    clock, store = _Clock(), _Store()
    enabled = EnabledInstalls(store.load, refresh_s=5.0, clock=clock)
    assert not enabled.is_enabled("acme", "i-1")

    await enabled.refresh()
    assert enabled.is_enabled("acme", "i-1")
    clock.now += 10.0
    assert enabled.is_enabled("acme", "i-1")
    clock.now += 0.01
    assert not enabled.is_enabled("acme", "i-1")
    await enabled.refresh()
    assert enabled.is_enabled("acme", "i-1")


async def test_a_disable_elsewhere_is_seen_at_the_next_refresh() -> None:
    clock, store = _Clock(), _Store()
    enabled = EnabledInstalls(store.load, refresh_s=5.0, clock=clock)
    await enabled.refresh()
    store.disabled.add(("acme", "i-1"))
    assert enabled.is_enabled("acme", "i-1")
    clock.now += 5.0
    await enabled.refresh()
    assert not enabled.is_enabled("acme", "i-1")
    assert enabled.is_enabled("acme", "i-2")
    assert enabled.is_enabled("other", "i-1")


async def test_a_local_mark_made_during_a_read_outlives_that_read() -> None:
    clock, store = _Clock(), _Store()
    enabled = EnabledInstalls(store.load, refresh_s=5.0, clock=clock)
    await enabled.refresh()
    store.gate = asyncio.Event()
    reading = asyncio.create_task(enabled.refresh())
    await asyncio.sleep(0)  # the read has begun, with the install still enabled
    clock.now += 1.0
    enabled.mark("acme", "i-1", enabled=False)
    assert not enabled.is_enabled("acme", "i-1")
    store.gate.set()
    await reading
    assert not enabled.is_enabled("acme", "i-1")


def test_a_fresh_directory_gets_its_first_private_key(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    ring = open_ring(directory)
    assert list(ring.keys) == [ring.active.key_id]
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert open_ring(directory).active.key_id == ring.active.key_id  # kept, not replaced


def test_a_rotation_is_followed_without_a_restart(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    keys = TokenKeys(open_ring(directory), InstallTokenVerifier(()))
    issuer = InstallTokenIssuer(lambda: keys.ring)
    claims = {"tenant_id": "acme", "extension_id": "x", "install_id": "i-1", "capabilities": []}
    before = issuer.issue(**claims)  # type: ignore[arg-type]

    new = rotate(directory)
    os.utime(directory / "active", ns=(1, 1))  # a distinct mtime, however coarse the clock
    assert keys.refresh()

    after = issuer.issue(**claims)  # type: ignore[arg-type]
    assert keys.ring.active.key_id == new.key_id
    assert keys.verifier.key_ids == frozenset(KeyRing.load(directory).keys)
    for token in (before, after):  # the retired key still verifies what it signed
        assert keys.verifier.verify(token).install_id == "i-1"

    (directory / f"{new.key_id}.pem").unlink()
    (directory / "active").unlink()
    assert keys.refresh()
    with pytest.raises(UnauthenticatedError):
        keys.verifier.verify(after)
