"""One refresh of the served snapshot: ask the providers, merge, report their health.

Degradations and conflicts are logged when they change, not on every refresh: a
provider that stays down (or keeps sending a key it may not set) is one warning,
and its recovery one info line, however often the snapshot is refreshed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import grpc

from extplane.capabilities.cache import Fresh
from extplane.capabilities.core import health_metadata
from extplane.capabilities.merge import Conflict, merge
from extplane.capabilities.providers import ExtensionProviders, ProviderAnswer
from extplane.capabilities.snapshot import Snapshot

logger = logging.getLogger(__name__)

_DEADLINE_EXCEEDED = grpc.StatusCode.DEADLINE_EXCEEDED.name


def _cut_short_by_caller(answer: ProviderAnswer) -> bool:
    """The provider ran out of the caller's time, which says nothing about the provider."""
    return answer.cut_by_caller and answer.degraded == _DEADLINE_EXCEEDED


class SnapshotBuilder:
    def __init__(self, core: Snapshot, providers: ExtensionProviders) -> None:
        self._core = core
        self._providers = providers
        self._degraded: dict[str, str] = {}
        self._conflicts: frozenset[Conflict] = frozenset()

    async def build(self, caller_remaining_s: float | None) -> Fresh[Snapshot]:
        """The merged snapshot; not cacheable if the caller's deadline cut a provider off."""
        answers = await self._providers.query(caller_remaining_s)
        result = merge(
            self._core,
            [(answer.name, answer.snapshot) for answer in answers if answer.snapshot is not None],
        )
        degraded = {answer.name: answer.degraded for answer in answers if answer.degraded}
        self._log_health_changes(answers)
        self._log_new_conflicts(result.conflicts)
        metadata = dict(result.snapshot.metadata)
        metadata.update(health_metadata(degraded, (c.label() for c in result.conflicts)))
        return Fresh(
            Snapshot(result.snapshot.features, metadata),
            cacheable=not any(_cut_short_by_caller(answer) for answer in answers),
        )

    def _log_health_changes(self, answers: Iterable[ProviderAnswer]) -> None:
        for answer in answers:
            if _cut_short_by_caller(answer):
                continue
            before = self._degraded.get(answer.name)
            if answer.degraded is None and before is not None:
                del self._degraded[answer.name]
                logger.info("capability provider %s recovered", answer.name)
            elif answer.degraded is not None and answer.degraded != before:
                self._degraded[answer.name] = answer.degraded
                logger.warning(
                    "capability provider %s degraded: %s (left out of the snapshot)",
                    answer.name,
                    answer.degraded,
                    extra={"provider": answer.name, "reason": answer.degraded},
                )

    def _log_new_conflicts(self, conflicts: Iterable[Conflict]) -> None:
        current = frozenset(conflicts)
        for conflict in sorted(current - self._conflicts):
            logger.warning(
                "capability provider %s may not set %s %r (%s); key ignored",
                conflict.provider,
                conflict.section,
                conflict.key,
                conflict.reason.value,
                extra={"provider": conflict.provider, "key": conflict.key},
            )
        self._conflicts = current
