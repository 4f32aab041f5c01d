"""The deployable metering service: ingest (`MeteringSink`) and queries
(`MeteringQueryService`) on one server, over one store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry

from extplane.metering.config import MeteringSettings
from extplane.metering.metrics import MeteringMetrics
from extplane.metering.postgres_store import PostgresMeteringStore
from extplane.metering.query_servicer import MeteringQueryServicer
from extplane.metering.recorder import Recorder
from extplane.metering.retention import Retention
from extplane.metering.sink_servicer import MeteringSinkServicer
from extplane.metering.sqlite_store import SqliteMeteringStore
from extplane.metering.store import MeteringStore
from extplane.runtime.auth import Authorizer, AuthSettings
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.metrics import process_metrics
from extplane.storage import resolve_store
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


def open_store(settings: MeteringSettings, data_dir: Path) -> MeteringStore:
    """The store `database_url` names (unset: `metering.db` in `data_dir`); not yet opened."""
    location = resolve_store(settings.database_url, data_dir, DATABASE_FILE)
    if location.dialect == "postgres":
        assert location.postgres_dsn is not None
        return PostgresMeteringStore(location.postgres_dsn)
    assert location.sqlite_path is not None
    return SqliteMeteringStore(location.sqlite_path)


class MeteringService(AsyncLifecycle):
    """`MeteringSink` + `MeteringQueryService`, as a `GrpcServiceDefinition`.

    `start()` opens the store and runs its migrations, then starts group commit
    and retention; `stop()` lets queued writes commit, then closes the store.
    `clock_ns` (wall clock, ns since the epoch) is for tests.
    """

    def __init__(
        self,
        settings: MeteringSettings,
        *,
        data_dir: Path,
        auth: AuthSettings,
        clock_ns: Callable[[], int] = time.time_ns,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.store = open_store(settings, data_dir)
        self.metrics = MeteringMetrics(
            registry if registry is not None else process_metrics().registry,
            max_series=settings.metrics_max_series,
        )
        self.recorder = Recorder(self.store, max_commit_events=settings.max_commit_events)
        self._sink = MeteringSinkServicer(
            self.recorder, settings, clock_ns=clock_ns, metrics=self.metrics
        )
        self._query = MeteringQueryServicer(
            self.store, settings, authorizer=Authorizer(auth), clock_ns=clock_ns
        )
        retention_s = settings.retention_s
        self.retention: Retention | None = None
        if retention_s is not None:
            self.retention = Retention(
                self.store,
                max_age_s=retention_s,
                interval_s=settings.retention_interval_s,
                clock_ns=clock_ns,
                metrics=self.metrics,
            )
        self._started = False

    @property
    def name(self) -> str:
        return "metering"

    @property
    def service_names(self) -> Sequence[str]:
        return (SINK_SERVICE, QUERY_SERVICE)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        metering_pb2_grpc.add_MeteringSinkServicer_to_server(self._sink, server)
        metering_query_pb2_grpc.add_MeteringQueryServiceServicer_to_server(self._query, server)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self.store.open()
        if self.retention is not None:
            await self.retention.start()
        self.recorder.start()
        self._query.serving = True
        _logger.info("metering store %s ready", self.store.description)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._query.serving = False
        await self.recorder.close()
        if self.retention is not None:
            await self.retention.stop()
        await self.store.close()
