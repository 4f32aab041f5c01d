"""The extension registry's rules: what an upload stores, and which install
versions it vouches for.

A version is immutable. An upload of a version already stored answers it
when the content is the same (handler, declared capabilities, limits), so a
retry is safe, and is ALREADY_EXISTS otherwise; either way before anything
is compiled. A component is checked (`ComponentChecker`) only when its bytes
are not stored yet: the same bytes under a new version reuse the stored
check and are not stored twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import wasmtime

from extplane.errors import AlreadyExistsError, NotFoundError, store_failures
from extplane.host.extensions.audit import UploadLog
from extplane.host.extensions.model import ComponentRef, ExtensionVersion, Limits
from extplane.host.extensions.store import ExtensionStore, ListedVersion, VersionsQuery
from extplane.runner.component_check import (
    ComponentError,
    check_component,
    sha256_hex,
    validation_engine,
)
from extplane.runtime import InvalidRequestError

_logger = logging.getLogger(__name__)
_WRITE_FAILED = "extension store write failed"
_READ_FAILED = "extension store read failed"


class ComponentChecker:
    """Checks components off the event loop, `concurrency` at a time: each
    compile takes seconds of CPU and hundreds of MiB, and uploads can wait."""

    def __init__(self, concurrency: int = 1) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._engine: wasmtime.Engine | None = None

    async def check(self, content: bytes) -> ComponentRef:
        async with self._slots:
            if self._engine is None:
                self._engine = validation_engine()
            checked = await asyncio.to_thread(check_component, content, self._engine)
        return ComponentRef(checked.sha256, checked.size_bytes, checked.imports)


@dataclass(frozen=True, slots=True)
class Handler:
    """What an upload runs: the component's bytes, or a gRPC address."""

    content: bytes | None = None
    grpc_address: str | None = None

    @property
    def sha256(self) -> str | None:
        return sha256_hex(self.content) if self.content is not None else None


def _stored_sha256(version: ExtensionVersion) -> str | None:
    return version.component.sha256 if version.component is not None else None


class ExtensionRegistry:
    def __init__(
        self,
        store: ExtensionStore,
        log: UploadLog,
        clock_ns: Callable[[], int],
        checker: ComponentChecker,
    ) -> None:
        self._store = store
        self._log = log
        self._clock_ns = clock_ns
        self._checker = checker

    async def upload(
        self,
        actor: str,
        extension_id: str,
        version: str,
        capabilities: tuple[str, ...],
        limits: Limits,
        handler: Handler,
    ) -> ExtensionVersion:
        sha256 = handler.sha256

        def answer(stored: ExtensionVersion) -> ExtensionVersion:
            same = (
                stored.declared_capabilities == capabilities
                and stored.limits == limits
                and stored.grpc_address == handler.grpc_address
                and _stored_sha256(stored) == sha256
            )
            if not same:
                raise AlreadyExistsError(
                    f"extension {extension_id!r} already has a version {version!r} with other "
                    "content; a version never changes: upload a new version"
                )
            return stored

        with store_failures(_READ_FAILED, _logger):
            found = await self._store.get(extension_id, version)
        if found is not None:
            return answer(found)
        component, content = None, handler.content
        if content is not None and sha256 is not None:
            with store_failures(_READ_FAILED, _logger):
                component = await self._store.component_ref(sha256)
            if component is not None:
                content = None  # stored already, under another version
            else:
                component = await self._check(actor, extension_id, version, content, sha256)
        stored = ExtensionVersion(
            extension_id=extension_id,
            version=version,
            declared_capabilities=capabilities,
            limits=limits,
            component=component,
            grpc_address=handler.grpc_address,
            created_ns=self._clock_ns(),
        )
        with store_failures(_WRITE_FAILED, _logger):
            earlier = await self._store.insert(stored, content)
        if earlier is not None:
            return answer(earlier)
        self._log.stored(actor, stored)
        _logger.info("extension version %s uploaded by %s", stored.resource, actor)
        return stored

    async def _check(
        self, actor: str, extension_id: str, version: str, content: bytes, sha256: str
    ) -> ComponentRef:
        try:
            return await self._checker.check(content)
        except ComponentError as refused:
            self._log.refused(actor, extension_id, version, str(refused), sha256, len(content))
            raise InvalidRequestError.field("component", str(refused)) from None

    async def get(self, extension_id: str, version: str) -> ExtensionVersion:
        with store_failures(_READ_FAILED, _logger):
            found = await self._store.get(extension_id, version)
        if found is None:
            raise NotFoundError(f"extension {extension_id!r} has no version {version!r}")
        return found

    async def list(self, query: VersionsQuery) -> list[ListedVersion]:
        with store_failures(_READ_FAILED, _logger):
            return await self._store.list(query)

    async def component(self, sha256: str) -> bytes:
        with store_failures(_READ_FAILED, _logger):
            found = await self._store.component_content(sha256)
        if found is None:
            raise NotFoundError(f"no component with sha256 {sha256}")
        return found

    async def install_version_problem(self, extension_id: str, version: str) -> str | None:
        """Why an install may not pick `version`: the extension has versions in
        the registry and this is not one of them. An extension with none
        uploaded may be installed at any version (the runner refuses to run
        it until the version is uploaded)."""
        with store_failures(_READ_FAILED, _logger):
            if await self._store.get(extension_id, version) is not None:
                return None
            if not await self._store.has_versions(extension_id):
                return None
        return (
            f"extension {extension_id!r} has no version {version!r} in the extension "
            f"registry; upload it first or pick one `extplane extensions list "
            f"--extension-id {extension_id}` shows"
        )
