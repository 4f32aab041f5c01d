"""Which installs are disabled, for the verifier's `is_enabled` hook.

The hook runs on every host call, so it must be an in-memory lookup: this
keeps a snapshot of the disabled installs, re-read from the registry's store
every `refresh_s` by the host service. A change made through this process's
registry is applied at once (`mark`); one made by another replica sharing
the store is seen at the next refresh. If the snapshot is older than twice
`refresh_s` (the store unreachable, the refresher stuck), every install
counts as disabled: the bound on how long a disabled install keeps working
holds even then, at the price of refusing calls until the store answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from extplane.host.installs.store import InstallsQuery, InstallStore

Key = tuple[str, str]  # (tenant, install id)
LoadDisabled = Callable[[], Awaitable[frozenset[Key]]]
_PAGE = 500


class EnabledInstalls:
    def __init__(
        self,
        load_disabled: LoadDisabled,
        *,
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load_disabled
        self.refresh_s = refresh_s
        self._clock = clock
        self._disabled: frozenset[Key] = frozenset()
        self._loaded_at: float | None = None
        # Marks made while a refresh reads the store win over what it read.
        self._marks: dict[Key, tuple[bool, float]] = {}

    @property
    def max_age_s(self) -> float:
        return 2 * self.refresh_s

    def is_enabled(self, tenant_id: str, install_id: str) -> bool:
        if self._loaded_at is None or self._clock() - self._loaded_at > self.max_age_s:
            return False
        return (tenant_id, install_id) not in self._disabled

    def mark(self, tenant_id: str, install_id: str, enabled: bool) -> None:
        key = (tenant_id, install_id)
        self._marks[key] = (enabled, self._clock())
        self._disabled = self._disabled - {key} if enabled else self._disabled | {key}

    async def refresh(self) -> None:
        """Re-read the store; on failure the old snapshot ages (and then fails closed)."""
        started = self._clock()
        disabled = set(await self._load())
        for key, (enabled, at) in list(self._marks.items()):
            if at < started:
                del self._marks[key]  # the store read saw it
            elif enabled:
                disabled.discard(key)
            else:
                disabled.add(key)
        self._disabled = frozenset(disabled)
        # The snapshot is as old as the moment its read began.
        self._loaded_at = started


def disabled_in(store: InstallStore) -> LoadDisabled:
    """Every disabled install in `store`, page by page."""

    async def load() -> frozenset[Key]:
        found: set[Key] = set()
        after: int | None = None
        while True:
            rows = await store.list(InstallsQuery(enabled=False, after_seq=after, limit=_PAGE))
            found.update((row.install.tenant, row.install.install_id) for row in rows)
            if len(rows) < _PAGE:
                return frozenset(found)
            after = rows[-1].seq

    return load
