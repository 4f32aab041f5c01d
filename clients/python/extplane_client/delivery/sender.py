"""The worker's side of delivery: from items taken off the queue to a verdict on each.

`Sender.deliver(items)` prepares the items, sets aside any too large to send,
sends the rest in batches (or one per call, several calls at once, for a sink that
implements only the unary RPC), retries with backoff, splits refused batches, and
reports how each item ended through `finish`. See docs/adapters.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import grpc

from extplane_client.delivery.options import DeliveryOptions
from extplane_client.delivery.policy import (
    Verdict,
    backoff_delay,
    classify,
    size_limit,
    status_code,
)
from extplane_client.delivery.window import CallWindow, Tries

_log = logging.getLogger("extplane_client.delivery")

T_contra = TypeVar("T_contra", contravariant=True)
P = TypeVar("P")

# Many calls at once may fail and succeed by turns while a sink recovers: the warning
# that it cannot be reached is given at most this often.
_UNREACHABLE_WARNING_EVERY_S = 30.0
# CPython hands the GIL to a waiting thread only every 5 ms unless the holder lets
# go; the worker lets go this often while preparing a batch, so a runtime thread
# (or event loop) calling record() meanwhile waits ~0.1 ms at most, not 5.
_YIELD_EVERY = 64


class Transport(Protocol[T_contra, P]):
    """How items reach a sink. Calls raise (or their futures end with) `grpc.RpcError`
    when the sink answers an error.

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

    def start_one(self, item: P, timeout: float) -> grpc.Future[Any]:
        """Start sending `item` alone with the contract's unary call; the future ends
        with its answer."""

    def size_of(self, item: P) -> int:
        """The bytes `item` adds to a request: the whole unary request; must not raise."""

    def close(self) -> None:
        """Release the connection; a call in flight ends (CANCELLED)."""


# How an item ended: DELIVERED, REJECTED, or TOO_LARGE (counted as oversized).
Finish = Callable[[int, Verdict], None]


class Sender(Generic[P]):
    """Delivers items through `transport`, from the engine's worker thread only.

    `finish(count, verdict)` is told how each item ended, `retried()` of each call
    made again; `stop` set means: give up now (what is unsettled stays unsettled).
    """

    def __init__(
        self,
        transport: Transport[Any, P],
        options: DeliveryOptions,
        *,
        name: str,
        stop: threading.Event,
        finish: Finish,
        retried: Callable[[], None],
        uniform: Callable[[], float],
    ) -> None:
        self._transport = transport
        self._options = options
        self._name = name
        self._stop = stop
        self._finish = finish
        self._retried = retried
        self._uniform = uniform
        self._window: CallWindow[P] = CallWindow(stop)
        self._batch_mode = True
        self._failing = False
        self._warned_failing = False
        self._warned_at = -_UNREACHABLE_WARNING_EVERY_S
        self._size_refusal = ""  # the sink's words, when it last refused a size
        # What one batch call carries at most; lowered when the sink names a lower limit.
        self._batch_bytes = min(options.max_batch_bytes, options.max_message_bytes)

    @property
    def batch_mode(self) -> bool:
        """False once the sink answered UNIMPLEMENTED to the batch RPC."""
        return self._batch_mode

    def interrupt(self) -> None:
        """Wake a wait for answers up, so that a set `stop` is noticed at once."""
        self._window.interrupt()

    def deliver(self, taken: Sequence[Any]) -> bool:
        """Send every item of `taken`; False when stopping midway (the rest is abandoned)."""
        prepared = self._prepare(taken)
        if not self._batch_mode:
            return self._send_each(prepared, self._options.unary_concurrency)
        # all() stops at the first False.
        return all(self._deliver_chunk(chunk) for chunk in self._chunks(prepared))

    # -- preparing -----------------------------------------------------------------

    def _prepare(self, taken: Sequence[Any]) -> list[P]:
        prepared: list[P] = []
        limit = self._options.max_message_bytes
        for index, item in enumerate(taken):
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                time.sleep(0)  # releases the GIL
            try:
                ready = self._transport.prepare(item)
            except Exception:
                # Nothing a sink could accept: counted, and its neighbours go on.
                _log.exception("%s sink: could not prepare an event; it is rejected", self._name)
                self._finish(1, Verdict.REJECTED)
                continue
            size = self._transport.size_of(ready)
            if size > limit:
                # Known too large before it goes: the sink (or gRPC) would refuse it.
                self._oversized(size, f"max_message_bytes is {limit}")
                continue
            prepared.append(ready)
        return prepared

    def _chunks(self, batch: list[P]) -> Iterator[list[P]]:
        """`batch` cut so no call carries more than the batch bytes (unless one item does)."""
        chunk: list[P] = []
        size = 0
        for item in batch:
            item_size = self._transport.size_of(item)
            if chunk and size + item_size > self._batch_bytes:
                yield chunk
                chunk, size = [], 0
            chunk.append(item)
            size += item_size
        if chunk:
            yield chunk

    # -- sending ---------------------------------------------------------------------

    def _deliver_chunk(self, chunk: list[P]) -> bool:
        """Deliver or settle every item of `chunk` with a batch call; False when stopping."""
        if not self._batch_mode:  # an earlier chunk found the batch RPC missing
            return self._send_each(chunk, self._options.unary_concurrency)
        verdict = self._call(partial(self._transport.send_batch, chunk), batch=True)
        if verdict is None:
            return False
        if verdict is Verdict.DELIVERED:
            self._finish(len(chunk), Verdict.DELIVERED)
            return True
        if verdict is Verdict.FALLBACK:
            self._batch_mode = False
            _log.warning(
                "%s sink: the batch RPC is not implemented; sending one event per call, "
                "up to %d at once",
                self._name,
                self._options.unary_concurrency,
            )
            return self._send_each(chunk, self._options.unary_concurrency)
        if verdict is Verdict.DENIED:
            # About the writer, not the events: one by one, each would be refused alike.
            self._finish(len(chunk), Verdict.DENIED)
            return True
        if len(chunk) == 1:  # REJECTED or TOO_LARGE
            self._settled(chunk[0], verdict)
            return True
        # All or nothing: the good events of a refused batch go again, one by one and
        # in order, so the bad (or too large) one alone is lost.
        _log.warning(
            "%s sink: a batch of %d was refused%s; sending its events one by one",
            self._name,
            len(chunk),
            f" for its size ({self._size_refusal})" if verdict is Verdict.TOO_LARGE else "",
        )
        return self._send_each(chunk, 1)

    def _call(self, send: Callable[[float], None], *, batch: bool) -> Verdict | None:
        """Call `send(timeout)` until the sink answers for good (no RETRY); None: stopping."""
        tries = Tries()
        while not self._stop.is_set():
            error: Exception | None = None
            try:
                send(self._options.call_timeout)
            except Exception as failure:
                error = failure
            verdict = self._judge(error, tries, batch=batch)
            if verdict is not Verdict.RETRY:
                return verdict
            if self._stop.wait(self._backoff(tries)):
                break
        return None

    def _send_each(self, items: list[P], concurrency: int) -> bool:
        """Each item in its own unary call, `concurrency` at once; False when stopping."""
        if concurrency == 1:
            # In order, each until settled. A blocking call costs the process less CPU
            # than a future: no hand-over to gRPC's thread and back per call.
            for item in items:
                verdict = self._call(partial(self._transport.send_one, item), batch=False)
                if verdict is None:
                    return False
                self._settled(item, verdict)
            return True
        timeout = self._options.call_timeout

        def start(item: P) -> grpc.Future[Any]:
            return self._transport.start_one(item, timeout)

        def settle(item: P, tries: Tries, error: BaseException | None) -> float | None:
            verdict = self._judge(error, tries, batch=False)
            if verdict is Verdict.RETRY:
                return self._backoff(tries)
            self._settled(item, verdict)
            return None

        return self._window.run(items, size=concurrency, start=start, settle=settle)

    def _settled(self, item: P, verdict: Verdict) -> None:
        if verdict is Verdict.TOO_LARGE:
            self._oversized(self._transport.size_of(item), self._size_refusal)
        else:
            self._finish(1, verdict)

    # -- judging answers -------------------------------------------------------------

    def _judge(self, error: BaseException | None, tries: Tries, *, batch: bool) -> Verdict:
        """The verdict on one attempt: DELIVERED, REJECTED, TOO_LARGE, FALLBACK, or RETRY."""
        if error is None:
            self._note_answer()
            return Verdict.DELIVERED
        if not isinstance(error, grpc.RpcError):
            # The request could not even be built: resending cannot help.
            _log.error(
                "%s sink: could not send; the events are rejected", self._name, exc_info=error
            )
            return Verdict.REJECTED
        code = status_code(error)
        details = _details(error)
        detail = f"{code.name}: {details}"
        verdict = classify(code, batch=batch, details=details)
        if verdict is Verdict.SERVER_ERROR:
            tries.server_errors += 1
            if tries.server_errors >= self._options.server_error_attempts:
                _log.warning(
                    "%s sink: failed %d times (%s); the events are rejected",
                    self._name,
                    tries.server_errors,
                    detail,
                )
                return Verdict.REJECTED
            verdict = Verdict.RETRY
        if verdict is Verdict.RETRY:
            self._note_failure(detail)
            self._retried()
            return verdict
        self._note_answer()
        if verdict is Verdict.REJECTED:
            _log.warning("%s sink: events refused (%s)", self._name, detail)
        elif verdict is Verdict.DENIED:
            _log.error(
                "%s sink: the sink refuses this writer (%s); the events are dropped: "
                "check the adapter's token or client certificate",
                self._name,
                detail,
            )
        elif verdict is Verdict.TOO_LARGE:
            self._size_refusal = detail
            self._learn_limit(details)
        return verdict

    def _backoff(self, tries: Tries) -> float:
        """The wait before the next attempt of the call that failed `tries.failures` times."""
        delay = backoff_delay(
            tries.failures,
            initial=self._options.initial_backoff,
            cap=self._options.max_backoff,
            uniform=self._uniform,
        )
        tries.failures += 1
        return delay

    def _learn_limit(self, details: str) -> None:
        limit = size_limit(details)
        if limit is not None and limit < self._batch_bytes:
            self._batch_bytes = limit
            _log.warning(
                "%s sink: the sink takes messages of at most %d bytes; batches are cut to "
                "that from now on (set max_message_bytes to match)",
                self._name,
                limit,
            )

    def _oversized(self, size: int, why: str) -> None:
        _log.warning(
            "%s sink: an event of %d bytes is too large to deliver (%s); it is dropped",
            self._name,
            size,
            why,
        )
        self._finish(1, Verdict.TOO_LARGE)

    def _note_failure(self, detail: str) -> None:
        if self._failing:
            return
        self._failing = True
        now = time.monotonic()
        self._warned_failing = now - self._warned_at >= _UNREACHABLE_WARNING_EVERY_S
        if self._warned_failing:
            self._warned_at = now
            _log.warning(
                "%s sink: cannot deliver (%s); events wait in the queue and are retried",
                self._name,
                detail,
            )

    def _note_answer(self) -> None:
        if self._failing:
            self._failing = False
            if self._warned_failing:
                _log.info("%s sink: delivering again", self._name)


def _details(error: grpc.RpcError) -> str:
    if isinstance(error, grpc.Call):
        details = error.details()
        if details:
            return str(details)
    return ""
