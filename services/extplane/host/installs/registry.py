"""The registry's rules: what register, update, enable and disable do to the store.

Every change is conditional on the revision it read, so of two concurrent
changes to one install exactly one wins and the other is ABORTED; nothing
changes without an audit event, and a request that would change nothing
changes nothing (no new revision, no event).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from extplane.errors import (
    AbortedError,
    AlreadyExistsError,
    FailedPreconditionError,
    NotFoundError,
    OutOfRangeError,
    store_failures,
)
from extplane.host.installs.changes import ChangeLog, changed_details, settings_details
from extplane.host.installs.model import Install, Settings
from extplane.host.installs.store import InstallsQuery, InstallStore, ListedInstall

_logger = logging.getLogger(__name__)
_WRITE_FAILED = "install store write failed"
_READ_FAILED = "install store read failed"
# Revisions are int32 in the contract.
LAST_REVISION = 2**31 - 1
# Why an install may not pick (extension id, version); None when it may.
VersionRule = Callable[[str, str], Awaitable[str | None]]


async def any_version(extension_id: str, version: str) -> str | None:
    return None


def _stale(install: Install, revision: int) -> AbortedError:
    return AbortedError(
        f"install {install.tenant}/{install.install_id} is at revision {install.revision},"
        f" not {revision}: read it again and retry"
    )


class InstallRegistry:
    def __init__(
        self,
        store: InstallStore,
        changes: ChangeLog,
        clock_ns: Callable[[], int],
        *,
        on_enabled: Callable[[Install], None] = lambda install: None,
        version_rule: VersionRule = any_version,
    ) -> None:
        self._store = store
        self._changes = changes
        self._clock_ns = clock_ns
        # Told of each enable/disable as it is stored (the host's enabled-check).
        self._on_enabled = on_enabled
        # The extension registry's say on which versions exist (the host wires it).
        self._version_rule = version_rule

    async def _check_version(self, extension_id: str, version: str) -> None:
        with store_failures(_READ_FAILED, _logger):
            problem = await self._version_rule(extension_id, version)
        if problem is not None:
            raise FailedPreconditionError(f"version: {problem}")

    async def get(self, tenant: str, install_id: str) -> Install:
        with store_failures(_READ_FAILED, _logger):
            found = await self._store.get(tenant, install_id)
        if found is None:
            raise NotFoundError(f"no install {install_id!r} for tenant {tenant!r}")
        return found

    async def list(self, query: InstallsQuery) -> list[ListedInstall]:
        with store_failures(_READ_FAILED, _logger):
            return await self._store.list(query)

    async def register(
        self, actor: str, tenant: str, install_id: str, extension_id: str, settings: Settings
    ) -> Install:
        await self._check_version(extension_id, settings.version)
        now = self._clock_ns()
        install = Install(
            tenant=tenant,
            install_id=install_id,
            extension_id=extension_id,
            settings=settings,
            enabled=True,
            revision=1,
            created_ns=now,
            updated_ns=now,
        )
        with store_failures(_WRITE_FAILED, _logger):
            stored = await self._store.insert(install)
        if not stored:
            raise AlreadyExistsError(f"tenant {tenant!r} already has an install {install_id!r}")
        details = {"extension_id": extension_id, **settings_details(settings)}
        self._changes.record("install.register", actor, install, details)
        return install

    async def update(
        self,
        actor: str,
        current: Install,
        revision: int,
        settings: Settings,
    ) -> Install:
        """`current` (as read) with `settings`, if it is still at `revision`."""
        if current.revision != revision:
            raise _stale(current, revision)
        details = changed_details(current.settings, settings)
        if not details:
            return current
        if settings.version != current.settings.version:
            await self._check_version(current.extension_id, settings.version)
        changed = await self._replace(current, settings=settings)
        self._changes.record("install.update", actor, changed, details)
        return changed

    async def set_enabled(
        self, actor: str, current: Install, enabled: bool, revision: int, reason: str
    ) -> Install:
        """`current` enabled or disabled; `revision` 0 means whatever it is at now."""
        if revision and current.revision != revision:
            raise _stale(current, revision)
        if current.enabled == enabled:
            return current
        changed = await self._replace(current, enabled=enabled)
        self._on_enabled(changed)
        details = {"enabled": str(enabled).lower()}
        if reason:
            details["reason"] = reason
        action = "install.enable" if enabled else "install.disable"
        self._changes.record(action, actor, changed, details)
        return changed

    async def _replace(self, current: Install, **changes: object) -> Install:
        if current.revision >= LAST_REVISION:
            raise OutOfRangeError(f"install {current.resource} has reached its last revision")
        changed = dataclasses.replace(
            current,
            revision=current.revision + 1,
            updated_ns=max(self._clock_ns(), current.updated_ns),
            **changes,  # type: ignore[arg-type]
        )
        with store_failures(_WRITE_FAILED, _logger):
            replaced = await self._store.replace(changed, expected_revision=current.revision)
        if not replaced:
            # Another change won since `current` was read.
            raise AbortedError(
                f"install {current.tenant}/{current.install_id} changed meanwhile:"
                " read it again and retry"
            )
        return changed
