"""Signed checkpoints of the chain head, every N records and every T seconds.

The hash a checkpoint signs is the one this process computed when it
appended (`committed`), not one read back from the database. With replicas,
the head may have moved elsewhere; on the timer the stored head is signed
when it is ahead, once the records since the last checkpoint verify. Two
replicas signing the same sequence store one checkpoint (the first); they
must share the key ring (see signing_keys.py). The ring is re-read before
each signature, so a rotated key signs the next checkpoint. Each new
checkpoint is handed to `published` (the witnesses), which must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from extplane.audit.chain.records import ChainHead, Checkpoint
from extplane.audit.metrics import AuditMetrics
from extplane.audit.signing_keys import AuditKeys
from extplane.audit.store import AuditStore
from extplane.audit.verify.verifier import RangeError, verify_log

_logger = logging.getLogger(__name__)


class Checkpointer:
    def __init__(
        self,
        store: AuditStore,
        keys: AuditKeys,
        *,
        every_records: int,
        interval_s: float,
        metrics: AuditMetrics,
        clock_ns: Callable[[], int] = time.time_ns,
        published: Callable[[Checkpoint], None] = lambda checkpoint: None,
    ) -> None:
        self._store = store
        self._keys = keys
        self._published = published
        self._every_records = every_records
        self._interval_s = interval_s
        self._metrics = metrics
        self._clock_ns = clock_ns
        self._known = ChainHead(0, b"")
        self._signed_through = 0
        self._due = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        latest = await self._store.latest_checkpoint()
        self._signed_through = latest.sequence if latest is not None else 0
        self._task = asyncio.create_task(self._run(), name="audit-checkpoints")

    async def stop(self) -> None:
        """Stop the timer, then sign the head once more so the tail is covered."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await self.checkpoint()
        except Exception:
            # The records are committed; only their last signature is missing.
            _logger.exception("signing the last audit checkpoint failed")

    def committed(self, head: ChainHead) -> None:
        """An append committed; `head` is the chain after it."""
        if head.sequence > self._known.sequence:
            self._known = head
            self._metrics.head_sequence.set(head.sequence)
        if self._known.sequence - self._signed_through >= self._every_records:
            self._due.set()

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the newest head known (here or in the store) unless it is signed already.

        A head this process did not append itself (another replica's, or the
        one found on start) is signed only once the records since the last
        checkpoint verify: a signature must never seal an edit.
        """
        async with self._lock:
            stored = await self._store.chain_head()
            head = stored if stored.sequence > self._known.sequence else self._known
            if head.sequence <= self._signed_through:
                return None
            if head is stored and not await self._verified(head):
                return None
            signer = await self._keys.refresh()
            checkpoint = signer.sign(head.sequence, head.hash, self._clock_ns())
            if await self._store.add_checkpoint(checkpoint):
                self._metrics.checkpoints.inc()
                self._published(checkpoint)
            self._signed_through = head.sequence
            return checkpoint

    async def _verified(self, head: ChainHead) -> bool:
        try:
            verdict = await verify_log(
                self._store,
                await self._keys.refresh(),
                from_sequence=head.sequence,
                to_sequence=head.sequence,
            )
        except RangeError as error:
            problem = str(error)
        else:
            if verdict.intact and verdict.head_hash == head.hash:
                return True
            problem = str(verdict.problem) if verdict.problem else "the head moved"
        _logger.error(
            "not signing the audit chain head at sequence %d: it does not verify (%s)",
            head.sequence,
            problem,
        )
        return False

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self._interval_s)
            self._due.clear()
            try:
                await self.checkpoint()
            except Exception:
                # The next tick tries again; the chain itself is unaffected.
                _logger.exception("signing an audit checkpoint failed")
