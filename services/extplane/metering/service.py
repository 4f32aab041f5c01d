"""The deployable metering service: ingest (`MeteringSink`) and queries
(`MeteringQueryService`) on one server, over one store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from extplane.metering.config import MeteringSettings
from extplane.metering.metrics import MeteringMetrics
from extplane.metering.recorder import Recorder
from extplane.metering.retention import Retention
from extplane.metering.servicer_query import MeteringQueryServicer
from extplane.metering.servicer_sink import MeteringSinkServicer
from extplane.metering.store import MeteringStore
from extplane.metering.store.postgres import PostgresMeteringStore
from extplane.metering.store.sqlite import SqliteMeteringStore
from extplane.runtime.kit import ServiceKit
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.retention import RetentionLoop
from extplane.runtime.serving import Serving
from extplane.runtime.writers import METERING_WRITER
from extplane.storage import PostgresStore, open_store
from extplane_protos.orloj.extensions.v1 import (
    metering_pb2,
    metering_pb2_grpc,
    metering_query_pb2,
    metering_query_pb2_grpc,
)

SINK_SERVICE: str = metering_pb2.DESCRIPTOR.services_by_name["MeteringSink"].full_name
QUERY_SERVICE: str = metering_query_pb2.DESCRIPTOR.services_by_name[
    "MeteringQueryService"
].full_name
DATABASE_FILE = "metering.db"

_logger = logging.getLogger(__name__)


def metering_store(settings: MeteringSettings, data_dir: Path) -> MeteringStore:
    """The store `database_url` names (unset: `metering.db` in the data dir); not yet opened."""
    sqlite: Callable[[Path], MeteringStore] = SqliteMeteringStore
    postgres: Callable[[str], MeteringStore] = PostgresMeteringStore
    return open_store(
        settings.database_url, data_dir, DATABASE_FILE, sqlite=sqlite, postgres=postgres
    )


class MeteringService(AsyncLifecycle):
    """`MeteringSink` + `MeteringQueryService`, as a `GrpcServiceDefinition`.

    `start()` opens the store and runs its migrations, then serves with a
    fresh group-commit recorder and starts retention; `stop()` lets queued
    writes commit, then closes the store.
    """

    def __init__(self, settings: MeteringSettings, kit: ServiceKit) -> None:
        self.settings = settings
        self._kit = kit
        self.store = metering_store(settings, kit.data_dir)
        self.metrics = MeteringMetrics(kit.registry, max_series=settings.metrics_max_series)
        self.serving: Serving[Recorder] = Serving(self.name)
        self._writers = kit.writer_guard(METERING_WRITER)
        self._sink = MeteringSinkServicer(
            self.serving,
            settings,
            clock_ns=kit.clock_ns,
            metrics=self.metrics,
            writers=self._writers,
        )
        self._query = MeteringQueryServicer(self.serving, self.store, settings, kit)
        self.retention: Retention | None = None
        self._retention_loop: RetentionLoop | None = None
        if settings.retention_s is not None:
            self.retention = Retention(
                self.store,
                max_age_s=settings.retention_s,
                clock_ns=kit.clock_ns,
                metrics=self.metrics,
            )
            self._retention_loop = RetentionLoop(
                self.name, self.retention.prune_once, interval_s=settings.retention_interval_s
            )

    @property
    def name(self) -> str:
        return "metering"

    @property
    def service_names(self) -> Sequence[str]:
        return (SINK_SERVICE, QUERY_SERVICE)

    @property
    def recorder(self) -> Recorder:
        return self.serving.current

    def add_to_server(self, server: grpc.aio.Server) -> None:
        metering_pb2_grpc.add_MeteringSinkServicer_to_server(self._sink, server)
        metering_query_pb2_grpc.add_MeteringQueryServiceServicer_to_server(self._query, server)

    async def start(self) -> None:
        if self.serving.is_open:
            return
        self._writers.check_startup(self.name)
        self._kit.load_page_tokens(shared_store=isinstance(self.store, PostgresStore))
        await self.store.open()
        if self.retention is not None:
            await self.retention.guard()
        self.serving.open(Recorder(self.store, max_commit_events=self.settings.max_commit_events))
        if self._retention_loop is not None:
            await self._retention_loop.start()
        _logger.info("metering store %s ready", self.store.description)

    async def stop(self) -> None:
        recorder = self.serving.close()
        if recorder is None:
            return
        await recorder.close()
        if self._retention_loop is not None:
            await self._retention_loop.stop()
        await self.store.close()
