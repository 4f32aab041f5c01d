"""Handing each new checkpoint to the witnesses, never holding up the log.

`publish` only enqueues. A file witness has a bounded queue and a task that
writes in a thread (three attempts, then the checkpoint is counted failed for
that witness); a full queue drops the checkpoint (counted). A remote witness
is a `GrpcAuditSink` (extplane_client): bounded, batching, retrying, with its
own `extplane_sink_events_total{sink="audit-witness-N"}` figures. Every
outcome is counted in `extplane_audit_witness_checkpoints_total{witness,
outcome}`. A witness that misses a checkpoint still catches a rewrite at
every one it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from extplane.audit.chain.records import Checkpoint
from extplane.audit.config import WitnessSink
from extplane.audit.witness.wire import checkpoint_event, checkpoint_json
from extplane.storage import ensure_private_directory, write_private_file_once
from extplane_client.audit_sink import GrpcAuditSink

_logger = logging.getLogger(__name__)
QUEUE_CHECKPOINTS = 1000
ATTEMPTS = 3
RETRY_S = 0.5
SINK_CLOSE_S = 5.0


class FileWitness:
    """A directory gets one file per checkpoint, created once and never replaced;
    any other path is a file each checkpoint is appended to, one JSON line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file:{path}"

    def write(self, checkpoint: Checkpoint) -> None:
        line = checkpoint_json(checkpoint) + "\n"
        if self.path.is_dir():
            name = f"checkpoint-{checkpoint.sequence:020d}.json"
            write_private_file_once(self.path / name, line.encode())
            return
        ensure_private_directory(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


class _FileQueue:
    def __init__(self, witness: FileWitness, counted: Counter) -> None:
        self.witness = witness
        self._counted = counted
        self.queue: asyncio.Queue[Checkpoint] = asyncio.Queue(QUEUE_CHECKPOINTS)
        self.task: asyncio.Task[None] | None = None

    def offer(self, checkpoint: Checkpoint) -> None:
        try:
            self.queue.put_nowait(checkpoint)
        except asyncio.QueueFull:
            self._counted.labels(self.witness.name, "dropped").inc()

    async def run(self) -> None:
        while True:
            checkpoint = await self.queue.get()
            try:
                await self._write(checkpoint)
            finally:
                self.queue.task_done()

    async def _write(self, checkpoint: Checkpoint) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await asyncio.to_thread(self.witness.write, checkpoint)
            except OSError as error:
                if attempt == ATTEMPTS:
                    _logger.error(
                        "witness %s missed the checkpoint at %d: %s",
                        self.witness.name,
                        checkpoint.sequence,
                        error,
                    )
                    self._counted.labels(self.witness.name, "failed").inc()
                    return
                await asyncio.sleep(RETRY_S * attempt)
            else:
                self._counted.labels(self.witness.name, "written").inc()
                return


class Witnesses:
    def __init__(
        self,
        files: Sequence[Path],
        sinks: Sequence[WitnessSink],
        *,
        origin: str,
        registry: CollectorRegistry,
        counted: Counter,
    ) -> None:
        """`sinks` are remote audit services to record each checkpoint at."""
        self._origin = origin
        self._counted = counted
        self._files = [_FileQueue(FileWitness(path), counted) for path in files]
        self._sinks: list[tuple[str, GrpcAuditSink]] = []
        for index, witness in enumerate(sinks):
            sink = GrpcAuditSink(
                witness.address,
                token=witness.token or None,
                tls=witness.tls,
                registry=registry,
                name=f"audit-witness-{index}",
            )
            self._sinks.append((f"sink:{witness.address}", sink))

    async def start(self) -> None:
        for file in self._files:
            file.task = asyncio.create_task(file.run(), name=f"witness {file.witness.name}")

    def publish(self, checkpoint: Checkpoint) -> None:
        for file in self._files:
            file.offer(checkpoint)
        if self._sinks:
            event = checkpoint_event(checkpoint, self._origin)
            for name, sink in self._sinks:
                sink.record(event)
                self._counted.labels(name, "sent").inc()

    async def stop(self) -> None:
        """Write what is queued, then stop (the remote ones get a few seconds)."""
        for file in self._files:
            if file.task is None:
                continue
            await file.queue.join()
            file.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await file.task
            file.task = None
        sinks, self._sinks = self._sinks, []
        for _, sink in sinks:
            await asyncio.to_thread(sink.close, SINK_CLOSE_S)
