"""The deployable audit service: AuditSink and AuditQueryService on one store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry

from extplane.audit.backends import open_store
from extplane.audit.checkpoints import Checkpointer
from extplane.audit.config import AuditSettings
from extplane.audit.metrics import audit_metrics
from extplane.audit.query_servicer import AuditQueryServicer
from extplane.audit.recorder import Recorder
from extplane.audit.retention import Retention
from extplane.audit.running import Running
from extplane.audit.signing import load_or_create_signer
from extplane.audit.sink import AuditSinkServicer
from extplane.audit.store import AuditStore
from extplane.runtime.auth import Authorizer
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.metrics import process_metrics
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    audit_query_pb2,
    audit_query_pb2_grpc,
)

SINK_SERVICE: str = audit_pb2.DESCRIPTOR.services_by_name["AuditSink"].full_name
QUERY_SERVICE: str = audit_query_pb2.DESCRIPTOR.services_by_name["AuditQueryService"].full_name

_logger = logging.getLogger(__name__)


class AuditService(AsyncLifecycle):
    """`AuditSink` + `AuditQueryService`, as a `GrpcServiceDefinition`.

    `start()` opens the store (running its migrations), loads or creates the
    signing key, and starts the checkpoint and retention tasks; `stop()`
    commits what is queued, signs a last checkpoint and closes the store.
    """

    def __init__(
        self,
        settings: AuditSettings,
        *,
        data_dir: Path,
        authorizer: Authorizer,
        registry: CollectorRegistry | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._settings = settings
        self._data_dir = data_dir
        self._authorizer = authorizer
        self._metrics = audit_metrics(registry or process_metrics().registry)
        self._clock_ns = clock_ns
        self._running: Running | None = None
        self._retention: Retention | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return "audit"

    @property
    def service_names(self) -> Sequence[str]:
        return (SINK_SERVICE, QUERY_SERVICE)

    @property
    def running(self) -> Running | None:
        return self._running

    @property
    def retention(self) -> Retention | None:
        return self._retention

    def add_to_server(self, server: grpc.aio.Server) -> None:
        audit_pb2_grpc.add_AuditSinkServicer_to_server(
            AuditSinkServicer(lambda: self._running, self._settings, self._metrics, self._clock_ns),
            server,
        )
        audit_query_pb2_grpc.add_AuditQueryServiceServicer_to_server(
            AuditQueryServicer(lambda: self._running, self._authorizer, self._metrics), server
        )

    async def start(self) -> None:
        async with self._lock:
            if self._running is not None:
                return
            store = open_store(self._settings.database_url, self._data_dir, clock_ns=self._clock_ns)
            try:
                await self._start(store)
            except BaseException:
                await self._stop()
                await store.close()
                raise
            _logger.info("audit log at %s", store.description)

    async def _start(self, store: AuditStore) -> None:
        await store.open()
        key_path = self._settings.signing_key_path(self._data_dir)
        signer = await asyncio.to_thread(load_or_create_signer, key_path)
        checkpointer = Checkpointer(
            store,
            signer,
            every_records=self._settings.checkpoint_every_records,
            interval_s=self._settings.checkpoint_interval_s,
            metrics=self._metrics,
            clock_ns=self._clock_ns,
        )
        await checkpointer.start()
        recorder = Recorder(
            store,
            checkpointer,
            max_commit_events=self._settings.max_commit_events,
            metrics=self._metrics,
        )
        self._running = Running(store, recorder, signer, checkpointer)
        if self._settings.retention_days is not None:
            self._retention = Retention(
                store,
                checkpointer,
                max_age_s=self._settings.retention_days * 86_400,
                interval_s=self._settings.retention_interval_s,
                max_records=self._settings.retention_max_records,
                metrics=self._metrics,
                clock_ns=self._clock_ns,
            )
            await self._retention.start()

    async def stop(self) -> None:
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        retention, self._retention = self._retention, None
        running, self._running = self._running, None
        if retention is not None:
            await retention.stop()
        if running is None:
            return
        try:
            await running.recorder.close()
            await running.checkpointer.stop()
        finally:
            await running.store.close()
