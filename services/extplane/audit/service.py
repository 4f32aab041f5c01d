"""The deployable audit service: AuditSink and AuditQueryService on one store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from extplane.audit.checkpointer import Checkpointer
from extplane.audit.config import DEFAULT_DATABASE_FILE, AuditSettings
from extplane.audit.metrics import audit_metrics
from extplane.audit.recorder import Recorder
from extplane.audit.retention import Retention
from extplane.audit.servicer_query import AuditQueryServicer
from extplane.audit.servicer_sink import AuditSinkServicer
from extplane.audit.signing_keys import AuditKeys, open_audit_keys
from extplane.audit.store import AuditStore
from extplane.audit.store.postgres import PostgresAuditStore
from extplane.audit.store.sqlite import SqliteAuditStore
from extplane.audit.witness.publish import Witnesses
from extplane.runtime.kit import ServiceKit
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.retention import RetentionLoop
from extplane.runtime.serving import Serving
from extplane.runtime.writers import AUDIT_WRITER
from extplane.storage import PostgresStore, open_store
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    audit_query_pb2,
    audit_query_pb2_grpc,
)

SINK_SERVICE: str = audit_pb2.DESCRIPTOR.services_by_name["AuditSink"].full_name
QUERY_SERVICE: str = audit_query_pb2.DESCRIPTOR.services_by_name["AuditQueryService"].full_name

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Running:
    """What a started audit service has open, for its servicers."""

    store: AuditStore
    recorder: Recorder
    keys: AuditKeys
    checkpointer: Checkpointer
    witnesses: Witnesses


def audit_store(
    settings: AuditSettings, data_dir: Path, *, clock_ns: Callable[[], int] = time.time_ns
) -> AuditStore:
    """The store `database_url` names (unset: `audit.db` in `data_dir`); not yet opened.
    `clock_ns` stamps each record's receive time."""

    def sqlite(path: Path) -> AuditStore:
        return SqliteAuditStore(path, clock_ns=clock_ns)

    def postgres(dsn: str) -> AuditStore:
        return PostgresAuditStore(dsn, clock_ns=clock_ns)

    return open_store(
        settings.database_url, data_dir, DEFAULT_DATABASE_FILE, sqlite=sqlite, postgres=postgres
    )


class AuditService(AsyncLifecycle):
    """`AuditSink` + `AuditQueryService`, as a `GrpcServiceDefinition`.

    `start()` opens the store (running its migrations), opens the signing
    key ring (signing_keys.py: it refuses one that does not match the log),
    and starts the checkpoint and retention tasks; `stop()`
    commits what is queued, signs a last checkpoint and closes the store.
    """

    def __init__(self, settings: AuditSettings, kit: ServiceKit) -> None:
        self._settings = settings
        self._kit = kit
        self._metrics = audit_metrics(kit.registry)
        self.serving: Serving[Running] = Serving(self.name)
        self.retention: Retention | None = None
        self._retention_loop: RetentionLoop | None = None
        self._lock = asyncio.Lock()
        self._witnesses: Witnesses | None = None
        self._writers = kit.writer_guard(AUDIT_WRITER)

    @property
    def name(self) -> str:
        return "audit"

    @property
    def service_names(self) -> Sequence[str]:
        return (SINK_SERVICE, QUERY_SERVICE)

    @property
    def running(self) -> Running | None:
        return self.serving.current if self.serving.is_open else None

    def add_to_server(self, server: grpc.aio.Server) -> None:
        audit_pb2_grpc.add_AuditSinkServicer_to_server(
            AuditSinkServicer(
                self.serving, self._settings, self._metrics, self._writers, self._kit.clock_ns
            ),
            server,
        )
        audit_query_pb2_grpc.add_AuditQueryServiceServicer_to_server(
            AuditQueryServicer(self.serving, self._kit, self._metrics), server
        )

    async def start(self) -> None:
        async with self._lock:
            if self.serving.is_open:
                return
            store = audit_store(self._settings, self._kit.data_dir, clock_ns=self._kit.clock_ns)
            try:
                await self._start(store)
            except BaseException:
                await self._stop()
                await store.close()
                raise
            _logger.info("audit log at %s", store.description)

    async def _start(self, store: AuditStore) -> None:
        self._writers.check_startup(self.name)
        self._kit.load_page_tokens(shared_store=isinstance(store, PostgresStore))
        await store.open()
        keys = await open_audit_keys(self._settings, self._kit.data_dir, store)
        witnesses = Witnesses(
            self._settings.witness_files,
            self._settings.witness_sinks,
            origin=self._settings.witness_origin,
            registry=self._kit.registry,
            counted=self._metrics.witnessed,
        )
        self._witnesses = witnesses
        await witnesses.start()
        checkpointer = Checkpointer(
            store,
            keys,
            every_records=self._settings.checkpoint_every_records,
            interval_s=self._settings.checkpoint_interval_s,
            metrics=self._metrics,
            clock_ns=self._kit.clock_ns,
            published=witnesses.publish,
        )
        await checkpointer.start()
        recorder = Recorder(
            store,
            checkpointer,
            max_commit_events=self._settings.max_commit_events,
            metrics=self._metrics,
        )
        self.serving.open(Running(store, recorder, keys, checkpointer, witnesses))
        retention_s = self._settings.retention_s
        if retention_s is not None:
            self.retention = Retention(
                store,
                checkpointer,
                max_age_s=retention_s,
                max_records=self._settings.retention_max_records,
                metrics=self._metrics,
                clock_ns=self._kit.clock_ns,
            )
            self._retention_loop = RetentionLoop(
                self.name,
                self.retention.prune_once,
                interval_s=self._settings.retention_interval_s,
            )
            await self._retention_loop.start()

    async def stop(self) -> None:
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        loop, self._retention_loop = self._retention_loop, None
        self.retention = None
        if loop is not None:
            await loop.stop()
        running = self.serving.close()
        witnesses, self._witnesses = self._witnesses, None
        try:
            if running is not None:
                try:
                    await running.recorder.close()
                    await running.checkpointer.stop()
                finally:
                    await running.store.close()
        finally:
            if witnesses is not None:
                await witnesses.stop()  # after the last checkpoint was signed
