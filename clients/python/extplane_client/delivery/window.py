"""Many unary calls at once from one thread: each item sent alone until it is settled.

The delivery worker uses this for a sink that implements only the unary RPC, where
one call at a time would leave the sink idle for a round trip per event:

    window = CallWindow()
    finished = window.run(items, size=16, start=start, settle=settle)

`start(item)` begins a call and returns its future; when the call ends, `settle(item,
tries, error)` judges it (in the worker thread, never in gRPC's) and answers None
(the item is done) or how many seconds to wait before sending it again. `size`
bounds the items being worked on: in flight *and* waiting out a retry, so a sink
that is down gets at most `size` calls per round of retries, and `size=1` sends the
items strictly in order, each until it is done, before the next.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any, Generic, TypeAlias, TypeVar

import grpc

P = TypeVar("P")

# grpc.Future is generic only in its type stubs.
Future: TypeAlias = "grpc.Future[Any]"


@dataclass
class Tries:
    """How one call (a batch, or one item alone) has failed so far."""

    failures: int = 0
    server_errors: int = 0


Start = Callable[[P], Future]
Settle = Callable[[P, Tries, BaseException | None], float | None]


class CallWindow(Generic[P]):
    """Runs calls from the thread that calls `run`; `interrupt()` works from any thread."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        # Finished calls, put there by gRPC's thread; None only wakes `run` up.
        self._completions: SimpleQueue[Future | None] = SimpleQueue()

    def interrupt(self) -> None:
        """Wake `run` up to notice that `stop` is set."""
        self._completions.put(None)

    def run(self, items: Sequence[P], *, size: int, start: Start[P], settle: Settle[P]) -> bool:
        """Send every item until settled, at most `size` at a time; False when stopping.

        When `stop` is set, the calls in flight are cancelled and the items not
        settled are left unsettled: the caller counts them.
        """
        waiting = deque(items)
        in_flight: dict[Future, tuple[P, Tries]] = {}
        # (due time, tie-break, item, tries): items waiting out a retry's backoff.
        retries: list[tuple[float, int, P, Tries]] = []
        order = itertools.count()
        busy = 0  # items taken from `waiting` and not settled

        def launch(item: P, tries: Tries) -> None:
            nonlocal busy
            try:
                future = start(item)
            except Exception as error:  # not even started: judged like any answer
                delay = settle(item, tries, error)
                if delay is None:
                    busy -= 1
                else:
                    heapq.heappush(retries, (time.monotonic() + delay, next(order), item, tries))
                return
            in_flight[future] = (item, tries)
            future.add_done_callback(self._completions.put)

        while waiting or busy:
            if self._stop.is_set():
                for future in in_flight:
                    future.cancel()
                return False
            now = time.monotonic()
            while retries and retries[0][0] <= now:
                _, _, item, tries = heapq.heappop(retries)
                launch(item, tries)
            while waiting and busy < size:
                busy += 1
                launch(waiting.popleft(), Tries())
            if not in_flight and not retries:
                continue
            timeout = max(0.0, retries[0][0] - time.monotonic()) if retries else None
            try:
                done = self._completions.get(timeout=timeout)
            except Empty:
                continue  # a retry is due
            if done is None or done not in in_flight:
                continue  # a wake-up, or a call of an earlier run
            item, tries = in_flight.pop(done)
            # Only this method cancels a call, and only when stopping: never judged.
            if done.cancelled():
                continue
            delay = settle(item, tries, done.exception())
            if delay is None:
                busy -= 1
            else:
                heapq.heappush(retries, (time.monotonic() + delay, next(order), item, tries))
        return True
