"""The running host's view of the secret key directory (`WatchedSecretKeys`):
cheap on every read, a changed file seen within RECHECK_S of its clock, and
sealing (or a value under a key the view lacks) always on the directory as it is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from secrets_support import Ticks

from extplane.host.secrets import keys
from extplane.host.secrets.part import SECRETS_STORE
from extplane.host.secrets.sealing import SecretAddress
from extplane.host.secrets.store import SecretsStore
from extplane.host.secrets.vault import SecretVault

AT = SecretAddress("acme", "app-1", "API_KEY")


def _looks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every time the watcher reads the directory's file list."""
    looked: list[Path] = []
    real = keys.fingerprint

    def counting(directory: Path) -> tuple[tuple[str, int, int], ...]:
        looked.append(directory)
        return real(directory)

    monkeypatch.setattr(keys, "fingerprint", counting)
    return looked


def test_reads_within_the_bound_never_touch_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = keys.open_ring(tmp_path).active_id
    clock = Ticks()
    watched = keys.WatchedSecretKeys(tmp_path, clock=clock)
    looked = _looks(monkeypatch)
    second = keys.rotate(tmp_path)

    for _ in range(1000):
        assert watched.ring.active_id == first
    clock.advance(keys.RECHECK_S / 2)
    assert watched.ring.active_id == first
    assert looked == []

    clock.advance(keys.RECHECK_S / 2)
    assert watched.ring.active_id == second
    assert set(watched.ring.keys) == {first, second}
    assert len(looked) == 1  # one look, then the bound starts again
    clock.advance(keys.RECHECK_S / 2)
    assert watched.ring.active_id == second
    assert len(looked) == 1


def test_a_removed_key_leaves_the_ring_within_the_bound(tmp_path: Path) -> None:
    first = keys.open_ring(tmp_path).active_id
    clock = Ticks()
    watched = keys.WatchedSecretKeys(tmp_path, clock=clock)
    second = keys.rotate(tmp_path)
    assert watched.latest().active_id == second
    (tmp_path / f"{first}{keys.KEY_SUFFIX}").unlink()

    assert first in watched.ring.keys  # looked just now, by latest()
    clock.advance(keys.RECHECK_S)
    assert set(watched.ring.keys) == {second}


def test_latest_looks_now_and_restarts_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.open_ring(tmp_path)
    clock = Ticks()
    watched = keys.WatchedSecretKeys(tmp_path, clock=clock)
    looked = _looks(monkeypatch)
    second = keys.rotate(tmp_path)
    assert watched.latest().active_id == second
    assert watched.ring.active_id == second
    assert len(looked) == 1


def test_a_ring_mid_edit_keeps_the_last_whole_one_and_looks_again_after_the_bound(
    tmp_path: Path,
) -> None:
    first = keys.open_ring(tmp_path).active_id
    clock = Ticks()
    watched = keys.WatchedSecretKeys(tmp_path, clock=clock)
    (tmp_path / keys.ACTIVE_FILE).write_text("sk-not-there\n")
    clock.advance(keys.RECHECK_S)
    assert watched.ring.active_id == first

    (tmp_path / keys.ACTIVE_FILE).write_text(f"{first}\n")
    second = keys.rotate(tmp_path)
    assert watched.ring.active_id == first  # the failed look restarted the bound
    clock.advance(keys.RECHECK_S)
    assert watched.ring.active_id == second


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[SecretsStore]:
    opened = SECRETS_STORE.at(database_url, tmp_path / "data")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_vault_seals_with_a_key_rotated_a_moment_ago(
    store: SecretsStore, tmp_path: Path
) -> None:
    directory = tmp_path / "keys"
    keys.open_ring(directory)
    watched = keys.WatchedSecretKeys(directory, clock=Ticks())
    vault = SecretVault(store, lambda: watched.ring, lambda: 1, latest_ring=watched.latest)
    second = keys.rotate(directory)

    made = await vault.set(AT, "v", None)
    assert made.sealed.key_id == second
    assert await vault.read(AT) == "v"


async def test_a_vault_reads_a_value_under_a_key_another_replica_just_added(
    store: SecretsStore, tmp_path: Path
) -> None:
    directory = tmp_path / "keys"
    first = keys.open_ring(directory).active_id
    watched = keys.WatchedSecretKeys(directory, clock=Ticks())
    vault = SecretVault(store, lambda: watched.ring, lambda: 1, latest_ring=watched.latest)
    assert watched.ring.active_id == first

    # The other replica rotates the shared directory and seals with its new key.
    second = keys.rotate(directory)
    replica = SecretVault(store, lambda: keys.SecretKeyRing.load(directory), lambda: 1)
    assert (await replica.set(AT, "from the replica", None)).sealed.key_id == second

    assert await vault.read(AT) == "from the replica"
