"""One delivery engine behind every runtime-side sink: a bounded queue and a worker thread.

    engine = DeliveryEngine(transport, DeliveryOptions(), name="metering")
    engine.offer(event)          # never blocks, never raises: True when queued
    engine.flush(timeout=5.0)    # True once everything queued now has been sent
    engine.close(timeout=5.0)    # flush, then stop; later offers are counted as dropped

`offer()` is what a runtime's hot path pays for, so it takes no lock: it takes a
slot token (a pop from a deque, atomic in CPython), appends the item (atomic too),
and wakes the worker only when a batch is full. The worker thread does the rest:
batching, the RPCs, retries with backoff, the fallback to the unary RPC, and the
accounting every figure of `stats()` comes from. See docs/adapters.md.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from typing import Generic, Protocol, TypeVar

import grpc
from prometheus_client import CollectorRegistry

from extplane_client.delivery.metrics import report_stats
from extplane_client.delivery.options import DeliveryOptions
from extplane_client.delivery.policy import Verdict, backoff_delay, classify, status_code

_log = logging.getLogger("extplane_client.delivery")

T = TypeVar("T")
P = TypeVar("P")
T_contra = TypeVar("T_contra", contravariant=True)

# After close() gave up waiting, how long the worker gets to notice its cancelled call.
_CANCEL_GRACE_S = 1.0
# CPython hands the GIL to a waiting thread only every 5 ms unless the holder lets
# go; the worker lets go this often while preparing a batch, so a runtime thread
# (or event loop) calling record() meanwhile waits ~0.1 ms at most, not 5.
_YIELD_EVERY = 64


class Transport(Protocol[T_contra, P]):
    """How items reach a sink. Calls raise `grpc.RpcError` when the sink answers an error.

    `prepare` turns a queued item into what is sent, once, in the worker, when the
    item leaves the queue: whatever must not change between attempts (an
    `event_id`) is fixed there, and the hot path does not pay for it.
    """

    def prepare(self, item: T_contra) -> P:
        """The form of `item` that is sent (and resent, on a retry)."""

    def send_batch(self, items: Sequence[P], timeout: float) -> None:
        """Send `items` in one batch call with a deadline of `timeout` seconds."""

    def send_one(self, item: P, timeout: float) -> None:
        """Send `item` alone, with the contract's unary call."""

    def size_of(self, item: P) -> int:
        """The item's encoded size in bytes; must not raise."""

    def close(self) -> None:
        """Release the connection; a call in flight ends (CANCELLED)."""


@dataclass(frozen=True)
class DeliveryStats:
    """A snapshot of a sink's counters.

    Every `offer()` is counted once: accepted (queued), overflowed or dropped. Every
    accepted item ends delivered, rejected or abandoned, or is still `queued`.

    queued: accepted and not finished yet (waiting, or in the call being made).
    delivered: acknowledged by the sink (a duplicate acknowledgement included).
    rejected: refused by the sink for good (see docs/adapters.md); never resent.
    overflowed: refused by `offer()` because `capacity` items were held.
    dropped: refused by `offer()` because the sink was closed, or was not an event.
    abandoned: accepted, but still unsent when `close()` stopped waiting for the sink.
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

    @property
    def accepted(self) -> int:
        """Items `offer()` took, over the sink's life."""
        return self.queued + self.delivered + self.rejected + self.abandoned


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
        self._uniform = uniform
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
        self._abandoned = 0
        self._retries = 0
        self._batch_mode = True
        self._failing = False
        self._next_tick = time.monotonic() + self._options.max_delay

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
                overflowed=self._overflowed,
                dropped=self._dropped,
                abandoned=self._abandoned + (in_queue if self._stopped else 0),
                retries=self._retries,
                batch_mode=self._batch_mode,
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
            for chunk in self._chunks(self._prepare(taken)):
                if not self._deliver(chunk):
                    return  # stopping: what is left of the batch is abandoned

    def _take(self, limit: int) -> list[T]:
        # Under the lock, so flush() sees every item either queued or taken.
        with self._lock:
            queue = self._queue
            taken = [queue.popleft() for _ in range(min(limit, len(queue)))]
            self._taken += len(taken)
            self._in_flight = len(taken)
        return taken

    def _prepare(self, taken: list[T]) -> list[P]:
        prepared: list[P] = []
        for index, item in enumerate(taken):
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                time.sleep(0)  # releases the GIL
            try:
                prepared.append(self._transport.prepare(item))
            except Exception:
                # Nothing a sink could accept: counted, and its neighbours go on.
                _log.exception("%s sink: could not prepare an event; it is rejected", self._name)
                self._finish(1, delivered=False)
        return prepared

    def _chunks(self, batch: list[P]) -> Iterator[list[P]]:
        """`batch` cut so no call carries more than `max_batch_bytes` (unless one item does)."""
        limit = self._options.max_batch_bytes
        chunk: list[P] = []
        size = 0
        for item in batch:
            item_size = self._transport.size_of(item)
            if chunk and size + item_size > limit:
                yield chunk
                chunk, size = [], 0
            chunk.append(item)
            size += item_size
        if chunk:
            yield chunk

    def _deliver(self, chunk: list[P]) -> bool:
        """Deliver or reject every item of `chunk`; False when stopping midway."""
        if self._batch_mode:
            verdict = self._call(partial(self._transport.send_batch, chunk), batch=True)
            if verdict is None:
                return False
            if verdict is Verdict.DELIVERED:
                self._finish(len(chunk), delivered=True)
                return True
            if verdict is Verdict.FALLBACK:
                self._batch_mode = False
                _log.warning(
                    "%s sink: the batch RPC is not implemented; sending one event per call",
                    self._name,
                )
            elif len(chunk) == 1:
                self._finish(1, delivered=False)
                return True
            else:
                # All or nothing: the good events of a refused batch go again, one by
                # one, so the bad one alone is lost.
                _log.warning(
                    "%s sink: a batch of %d was refused; sending its events one by one",
                    self._name,
                    len(chunk),
                )
        for item in chunk:
            verdict = self._call(partial(self._transport.send_one, item), batch=False)
            if verdict is None:
                return False
            self._finish(1, delivered=verdict is Verdict.DELIVERED)
        return True

    def _call(self, send: Callable[[float], None], *, batch: bool) -> Verdict | None:
        """Send until the sink delivers, rejects or (batch) lacks the RPC; None: stopping.

        The result is DELIVERED, REJECTED or FALLBACK: retries happen here.
        """
        attempt = 0
        server_errors = 0
        while not self._stop.is_set():
            try:
                send(self._options.call_timeout)
            except grpc.RpcError as error:
                code = status_code(error)
                verdict = classify(code, batch=batch)
                detail = f"{code.name}: {_details(error)}"
            except Exception:
                # The request could not even be built: resending cannot help.
                _log.exception("%s sink: could not send; the events are rejected", self._name)
                return Verdict.REJECTED
            else:
                verdict, detail = Verdict.DELIVERED, ""
            if verdict is Verdict.SERVER_ERROR:
                server_errors += 1
                if server_errors >= self._options.server_error_attempts:
                    _log.warning(
                        "%s sink: failed %d times (%s); the events are rejected",
                        self._name,
                        server_errors,
                        detail,
                    )
                    return Verdict.REJECTED
            elif verdict is not Verdict.RETRY:
                self._note_answer(verdict, detail)
                return verdict
            self._note_failure(detail)
            delay = backoff_delay(
                attempt,
                initial=self._options.initial_backoff,
                cap=self._options.max_backoff,
                uniform=self._uniform,
            )
            attempt += 1
            with self._lock:
                self._retries += 1
            if self._stop.wait(delay):
                break
        return None

    def _finish(self, count: int, *, delivered: bool) -> None:
        with self._lock:
            if delivered:
                self._delivered += count
            else:
                self._rejected += count
            self._finished += count
            self._in_flight -= count
            self._progress.notify_all()
        self._slots.extend(repeat(None, count))

    def _note_failure(self, detail: str) -> None:
        if not self._failing:
            self._failing = True
            _log.warning(
                "%s sink: cannot deliver (%s); events wait in the queue and are retried",
                self._name,
                detail,
            )

    def _note_answer(self, verdict: Verdict, detail: str) -> None:
        if self._failing:
            self._failing = False
            _log.info("%s sink: delivering again", self._name)
        if verdict is Verdict.REJECTED:
            _log.warning("%s sink: events refused (%s)", self._name, detail)


def _details(error: grpc.RpcError) -> str:
    if isinstance(error, grpc.Call):
        details = error.details()
        if details:
            return str(details)
    return ""
