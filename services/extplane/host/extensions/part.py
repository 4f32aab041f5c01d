"""The extension registry part of the host service (`HostPart`): its store (in
the host's database, component `host.extensions`) and its admin service,
opened and closed with the host. The install registry asks it whether an
install's version may be picked (`install_version_problem`)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc.aio

from extplane.host.database import HostStore
from extplane.host.extensions.audit import UploadLog
from extplane.host.extensions.registry import ComponentChecker, ExtensionRegistry
from extplane.host.extensions.servicer import EXTENSION_REGISTRY, ExtensionRegistryServicer
from extplane.host.extensions.store import ExtensionStore
from extplane.host.extensions.store.postgres import PostgresExtensionStore
from extplane.host.extensions.store.sqlite import SqliteExtensionStore
from extplane.host.parts import PartContext
from extplane.runner.component_check import MAX_COMPONENT_BYTES
from extplane.runtime import ServiceKit, Serving
from extplane_protos.extplane.admin.v1 import extensions_pb2_grpc

# On the host's database (the same file or PostgreSQL).
EXTENSION_STORE = HostStore[ExtensionStore](SqliteExtensionStore, PostgresExtensionStore)
# What the host's server must accept in one message: the largest component and
# room for the rest of the upload request.
MAX_UPLOAD_MESSAGE_BYTES = MAX_COMPONENT_BYTES + 1024 * 1024


class ExtensionsPart:
    def __init__(self, store: ExtensionStore, kit: ServiceKit) -> None:
        self.store = store
        self._kit = kit
        self.serving: Serving[ExtensionRegistry] = Serving("host")
        self._checker = ComponentChecker()

    @property
    def service_names(self) -> Sequence[str]:
        return (EXTENSION_REGISTRY,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        extensions_pb2_grpc.add_ExtensionRegistryServiceServicer_to_server(
            ExtensionRegistryServicer(self.serving, self._kit), server
        )

    async def start(self, context: PartContext) -> None:
        if self.serving.is_open:
            return
        await self.store.open()
        log = UploadLog(context.audit, context.kit.clock_ns)
        self.serving.open(ExtensionRegistry(self.store, log, context.kit.clock_ns, self._checker))

    async def stop(self) -> None:
        if self.serving.close() is None:
            return
        await self.store.close()

    async def install_version_problem(self, extension_id: str, version: str) -> str | None:
        """Why an install may not pick this version (None: it may); see
        `ExtensionRegistry.install_version_problem`."""
        return await self.serving.current.install_version_problem(extension_id, version)
