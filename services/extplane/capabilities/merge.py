"""The merge rule: extension providers add to the core snapshot, never replace it.

* a key the core snapshot sets is never changed by a provider;
* among providers, the first in configured order that sets a key wins;
* metadata keys under `extplane.` belong to the core: a provider's are dropped.

Every key a provider loses is returned as a `Conflict`, except a provider repeating
the value already in place: that changes nothing, so reporting it would be noise.
Attempts on the reserved namespace are reported whatever their value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from extplane.capabilities.core import RESERVED_METADATA_PREFIX
from extplane.capabilities.snapshot import Snapshot

Section = Literal["features", "metadata"]
_V = TypeVar("_V", bool, str)


class ConflictReason(enum.StrEnum):
    CORE_KEY = "core_key"
    EARLIER_PROVIDER = "earlier_provider"
    RESERVED_NAMESPACE = "reserved_namespace"


@dataclass(frozen=True, order=True)
class Conflict:
    """One key `provider` tried to set that the merged snapshot does not take from it."""

    provider: str
    section: Section
    key: str
    reason: ConflictReason

    def label(self) -> str:
        """`provider:section.key`, the form reported in `extplane.providers.conflicts`."""
        return f"{self.provider}:{self.section}.{self.key}"


@dataclass(frozen=True)
class MergeResult:
    snapshot: Snapshot
    conflicts: tuple[Conflict, ...]


def merge(core: Snapshot, contributions: Sequence[tuple[str, Snapshot]]) -> MergeResult:
    """Merge provider snapshots, given in configured order, into the core snapshot."""
    features = dict(core.features)
    metadata = dict(core.metadata)
    conflicts: list[Conflict] = []
    for provider, snapshot in contributions:
        conflicts += _add(provider, "features", snapshot.features, features, core.features)
        conflicts += _add(provider, "metadata", snapshot.metadata, metadata, core.metadata)
    return MergeResult(Snapshot(features, metadata), tuple(sorted(conflicts)))


def _add(
    provider: str,
    section: Section,
    offered: Mapping[str, _V],
    merged: dict[str, _V],
    core: Mapping[str, _V],
) -> list[Conflict]:
    conflicts: list[Conflict] = []
    for key in sorted(offered):
        value = offered[key]
        reason: ConflictReason | None = None
        if section == "metadata" and key.startswith(RESERVED_METADATA_PREFIX):
            reason = ConflictReason.RESERVED_NAMESPACE
        elif key not in merged:
            merged[key] = value
        elif merged[key] != value:
            reason = ConflictReason.CORE_KEY if key in core else ConflictReason.EARLIER_PROVIDER
        if reason is not None:
            conflicts.append(Conflict(provider, section, key, reason))
    return conflicts
