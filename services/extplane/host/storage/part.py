"""The storage part of the host service (`HostPart`): `StorageService` on the
install store, which the host itself opens and closes (storage entries are
rows of the install registry's database, removed with their install)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc.aio

from extplane.host.installs.store import InstallStore
from extplane.host.parts import PartContext
from extplane.host.storage.servicer import STORAGE_SERVICE, StorageServicer
from extplane_protos.alga.extension.v1 import storage_pb2_grpc


class StoragePart:
    def __init__(self, installs: InstallStore) -> None:
        self._installs = installs

    @property
    def service_names(self) -> Sequence[str]:
        return (STORAGE_SERVICE,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        storage_pb2_grpc.add_StorageServiceServicer_to_server(
            StorageServicer(self._installs), server
        )

    async def start(self, context: PartContext) -> None:
        return None

    async def stop(self) -> None:
        return None
