"""Secrets sealed into the store and unsealed out of it, with their expiry.

Every failure a reader can meet is a SecretError variant whose message names
the key at most: never the value, never key material.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from extplane.host.alga_error import AlgaVariantError
from extplane.host.secrets.keys import SecretKeyRing
from extplane.host.secrets.sealing import SecretAddress, UnsealError, seal, unseal
from extplane.host.secrets.store import SecretsStore, StoredSecret
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import types_pb2

REWRAP_BATCH = 200

_logger = logging.getLogger(__name__)


def _failure(number: int, message: str) -> AlgaVariantError:
    return AlgaVariantError(alga_errors.variant(types_pb2.SecretError, number), message)


@dataclass(frozen=True, slots=True)
class Rewrapped:
    """What a rewrap did: re-sealed, already on the active key, changed meanwhile
    (set or deleted by someone else: left as they are, on whatever key they hold),
    and those that do not decrypt (left as they are; their key is gone, or the
    row was tampered with)."""

    rewrapped: int
    current: int
    skipped: int
    unreadable: tuple[SecretAddress, ...] = ()


class SecretVault:
    """`ring`: the key ring, possibly a little behind its directory (it is read on
    every `read`, so may be cached); `latest_ring` (default `ring`): as the
    directory holds it now, for sealing and for a value whose key `ring` lacks."""

    def __init__(
        self,
        store: SecretsStore,
        ring: Callable[[], SecretKeyRing],
        clock_ns: Callable[[], int],
        *,
        latest_ring: Callable[[], SecretKeyRing] | None = None,
    ) -> None:
        self.store = store
        self._ring = ring
        self._latest = latest_ring if latest_ring is not None else ring
        self._clock_ns = clock_ns

    @property
    def ring(self) -> SecretKeyRing:
        return self._ring()

    async def set(self, at: SecretAddress, value: str, expire_ns: int | None) -> StoredSecret:
        secret = StoredSecret(at, seal(self._latest(), at, value), expire_ns, self._clock_ns())
        await self.store.put(secret)
        return secret

    async def read(self, at: SecretAddress) -> str:
        """The value; SECRET_ERROR_MISSING, _EXPIRED or _INTERNAL otherwise."""
        found = await self.store.get(at)
        if found is None:
            raise _failure(types_pb2.SECRET_ERROR_MISSING, f"no secret {at.key!r} for this install")
        if found.expire_ns is not None and self._clock_ns() >= found.expire_ns:
            raise _failure(types_pb2.SECRET_ERROR_EXPIRED, f"the secret {at.key!r} has expired")
        ring = self._ring()
        if found.sealed.key_id not in ring.keys:
            ring = self._latest()
        try:
            return unseal(ring, at, found.sealed)
        except UnsealError as error:
            _logger.error("secret %r of install %s/%s: %s", at.key, at.tenant, at.install_id, error)
            raise _failure(
                types_pb2.SECRET_ERROR_INTERNAL, f"the secret {at.key!r} cannot be decrypted"
            ) from None

    async def rewrap(self) -> Rewrapped:
        """Re-seal every stored secret with the active key, a batch at a time."""
        ring = self._latest()
        done = current = skipped = 0
        unreadable: list[SecretAddress] = []
        last: SecretAddress | None = None
        while batch := await self.store.after(last, REWRAP_BATCH):
            for secret in batch:
                if secret.sealed.key_id == ring.active_id:
                    current += 1
                    continue
                try:
                    value = unseal(ring, secret.at, secret.sealed)
                except UnsealError as error:
                    _logger.error(
                        "rewrap: secret %r of install %s/%s: %s",
                        secret.at.key,
                        secret.at.tenant,
                        secret.at.install_id,
                        error,
                    )
                    unreadable.append(secret.at)
                    continue
                if await self.store.reseal(secret, seal(ring, secret.at, value)):
                    done += 1
                else:
                    skipped += 1
            last = batch[-1].at
        return Rewrapped(done, current, skipped, tuple(unreadable))
