"""One delivery engine behind every runtime-side sink: a bounded queue and a worker thread.

    engine = DeliveryEngine(transport, DeliveryOptions(), name="metering")
    engine.offer(event)          # never blocks, never raises: True when queued
    engine.flush(timeout=5.0)    # True once everything queued now has been sent
    engine.close(timeout=5.0)    # flush, then stop; later offers are counted as dropped

`offer()` is what a runtime's hot path pays for, so it takes no lock: it takes a
slot token (a pop from a deque, atomic in CPython), appends the item (atomic too),
and wakes the worker only when a batch is full. The worker thread does the rest,
through its `Sender`: batching, the RPCs, retries with backoff, the fallback to the
unary RPC; the engine keeps the accounting every figure of `stats()` comes from.
See docs/adapters.md.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry

from extplane_client.delivery.metrics import report_stats
from extplane_client.delivery.options import DeliveryOptions
from extplane_client.delivery.policy import Verdict
from extplane_client.delivery.sender import Sender, Transport

_log = logging.getLogger("extplane_client.delivery")

T = TypeVar("T")
P = TypeVar("P")
# After close() gave up waiting, how long the worker gets to notice its cancelled call.
_CANCEL_GRACE_S = 1.0


@dataclass(frozen=True)
class DeliveryStats:
    """A snapshot of a sink's counters.

    Every `offer()` is counted once: accepted (queued), overflowed or dropped. Every
    accepted item ends delivered, rejected, oversized, denied or abandoned, or is still
    `queued`.

    queued: accepted and not finished yet (waiting, or in the calls being made).
    delivered: acknowledged by the sink (a duplicate acknowledgement included).
    rejected: refused by the sink for good (see docs/adapters.md); never resent.
    oversized: larger than a message to the sink may be (`max_message_bytes`, or the
        sink refused it for its size); never delivered, never resent.
    overflowed: refused by `offer()` because `capacity` items were held.
    dropped: refused by `offer()` because the sink was closed, or was not an event.
    abandoned: accepted, but still unsent when `close()` stopped waiting for the sink.
    denied: refused because the sink does not accept this writer (UNAUTHENTICATED or
        PERMISSION_DENIED: a token, role or certificate to fix); never resent.
    retries: calls made again after a failure.
    batch_mode: False once the sink answered UNIMPLEMENTED to the batch RPC.
    """

    queued: int
    delivered: int
    rejected: int
    overflowed: int
    dropped: int
    abandoned: int
    retries: int
    batch_mode: bool
    capacity: int
    closed: bool
    # New fields go last, so a positional construction keeps its meaning.
    oversized: int = 0
    denied: int = 0

    @property
    def accepted(self) -> int:
        """Items `offer()` took, over the sink's life."""
        return (
            self.queued
            + self.delivered
            + self.rejected
            + self.oversized
            + self.denied
            + self.abandoned
        )


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class DeliveryEngine(Generic[T, P]):
    """Queues items and delivers them through a `Transport` from a daemon thread.

    `offer()` is safe from any thread and from coroutines (it never waits);
    `flush()` and `close()` wait, so from asyncio call them through
    `asyncio.to_thread`. With `registry`, the counters are also exported as
    Prometheus metrics labelled `sink=name` (read at scrape time: no cost per item).
    """

    def __init__(
        self,
        transport: Transport[T, P],
        options: DeliveryOptions | None = None,
        *,
        name: str,
        registry: CollectorRegistry | None = None,
        uniform: Callable[[], float] = random.random,
    ) -> None:
        self._transport = transport
        self._options = options if options is not None else DeliveryOptions()
        self._name = name
        self._max_batch = self._options.max_batch

        self._queue: deque[T] = deque()
        # One token per item the engine may hold. Taking one is a single atomic
        # pop, so the bound is exact without a lock on the hot path; the worker
        # gives tokens back once their items are finished.
        self._slots: deque[None] = deque(repeat(None, self._options.capacity))
        self._wake = threading.Event()
        self._stop = threading.Event()

        # Guards the counters written by producers (rare paths only) and the
        # worker's progress, which flush() reads and waits on.
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self._closed = False  # offer() refuses from now on
        self._closing = False  # close() was called
        self._stopped = False  # the worker has exited
        self._overflowed = 0
        self._dropped = 0
        self._flush_goal = 0

        # Written by the worker only (under the lock where flush() reads them).
        self._taken = 0
        self._finished = 0
        self._in_flight = 0
        self._delivered = 0
        self._rejected = 0
        self._oversized = 0
        self._denied = 0
        self._abandoned = 0
        self._retries = 0
        self._next_tick = time.monotonic() + self._options.max_delay
        self._sender: Sender[P] = Sender(
            transport,
            self._options,
            name=name,
            stop=self._stop,
            finish=self._finish,
            retried=self._retried,
            uniform=uniform,
        )

        if registry is not None:
            # First: a refused name must not leave a worker thread behind.
            report_stats(registry, name, self.stats)
        self._worker = threading.Thread(target=self._run, name=f"extplane-{name}-sink", daemon=True)
        self._worker.start()

    # -- producers ---------------------------------------------------------------

    def offer(self, item: T) -> bool:
        """Queue `item`; False (and counted) when closed or full. Never blocks or raises."""
        if self._closed:
            self.refuse()
            return False
        try:
            self._slots.pop()
        except IndexError:
            with self._lock:
                self._overflowed += 1
            return False
        queue = self._queue
        queue.append(item)
        if len(queue) >= self._max_batch and not self._wake.is_set():
            self._wake.set()
        return True

    def refuse(self) -> None:
        """Count an item that was not offered: the sink is closed, or it was no event."""
        with self._lock:
            self._dropped += 1

    # -- waiting -----------------------------------------------------------------

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything queued now is delivered or rejected; True when it was.

        Items offered meanwhile may be sent too; they are not waited for.
        """
        with self._lock:
            goal = self._taken + len(self._queue)
            if self._finished >= goal:
                return True
            if self._stopped:
                return False
            self._flush_goal = max(self._flush_goal, goal)
        self._wake.set()
        with self._progress:
            self._progress.wait_for(lambda: self._finished >= goal or self._stopped, timeout)
            return self._finished >= goal

    def close(self, timeout: float | None = 10.0) -> bool:
        """Refuse new items, deliver what is queued within `timeout`, stop the worker.

        True when every accepted item was delivered or rejected; whatever is still
        queued when the time is up is abandoned (counted). Closing again waits for
        the first close to finish, within its own `timeout`.
        """
        deadline = _deadline(timeout)
        with self._lock:
            first = not self._closing
            self._closing = True
            self._closed = True
        if first:
            self.flush(_remaining(deadline))
            self._stop.set()
            self._wake.set()
            self._sender.interrupt()
            self._worker.join(_remaining(deadline))
            # A call still in flight now: closing the channel cancels it.
            self._transport.close()
            self._worker.join(_CANCEL_GRACE_S)
        else:
            self._worker.join(_remaining(deadline))
        stats = self.stats()
        return stats.queued == 0 and stats.abandoned == 0

    def stats(self) -> DeliveryStats:
        with self._lock:
            in_queue = len(self._queue)
            return DeliveryStats(
                # Once the worker has exited, nothing more will be sent.
                queued=0 if self._stopped else in_queue + self._in_flight,
                delivered=self._delivered,
                rejected=self._rejected,
                oversized=self._oversized,
                denied=self._denied,
                overflowed=self._overflowed,
                dropped=self._dropped,
                abandoned=self._abandoned + (in_queue if self._stopped else 0),
                retries=self._retries,
                batch_mode=self._sender.batch_mode,
                capacity=self._options.capacity,
                closed=self._closed,
            )

    # -- the worker --------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                everything = self._wait_for_work()
                if self._stop.is_set():
                    break
                queued = len(self._queue)
                self._send(queued if everything else queued - queued % self._max_batch)
        except Exception:
            # A bug, never an answer of the sink (those are all handled). Events
            # offered from now on are counted as dropped instead of piling up.
            _log.exception("%s sink: the delivery worker failed; nothing more is sent", self._name)
        finally:
            with self._lock:
                self._closed = True
                self._stopped = True
                self._abandoned += self._in_flight
                self._in_flight = 0
                self._progress.notify_all()

    def _wait_for_work(self) -> bool:
        """Wait until a batch is full, a flush waits, or the tick comes (every `max_delay`).

        True: send everything queued (a flush, or the tick: nothing waits much longer
        than `max_delay`). False: send the full batches only; the rest may fill up.
        """
        self._wake.clear()
        if len(self._queue) < self._max_batch and self._taken >= self._flush_goal:
            self._wake.wait(max(0.0, self._next_tick - time.monotonic()))
        now = time.monotonic()
        if self._taken < self._flush_goal or now >= self._next_tick:
            self._next_tick = now + self._options.max_delay
            return True
        return False

    def _send(self, count: int) -> None:
        """Deliver the first `count` items of the queue, in order, batch by batch."""
        while count > 0 and not self._stop.is_set():
            taken = self._take(min(count, self._max_batch))
            count -= len(taken)
            if not self._sender.deliver(taken):
                return  # stopping: what is left of the batch is abandoned

    def _take(self, limit: int) -> list[T]:
        # Under the lock, so flush() sees every item either queued or taken.
        with self._lock:
            queue = self._queue
            taken = [queue.popleft() for _ in range(min(limit, len(queue)))]
            self._taken += len(taken)
            self._in_flight = len(taken)
        return taken

    def _finish(self, count: int, verdict: Verdict) -> None:
        """`count` items ended: DELIVERED, REJECTED, DENIED or TOO_LARGE (oversized)."""
        with self._lock:
            if verdict is Verdict.DELIVERED:
                self._delivered += count
            elif verdict is Verdict.TOO_LARGE:
                self._oversized += count
            elif verdict is Verdict.DENIED:
                self._denied += count
            else:
                self._rejected += count
            self._finished += count
            self._in_flight -= count
            self._progress.notify_all()
        self._slots.extend(repeat(None, count))

    def _retried(self) -> None:
        with self._lock:
            self._retries += 1
