"""The epoch ticker: one daemon thread per process advancing each engine's epoch.

A store's deadline is a number of ticks (`deadline_ticks`); a guest still
running when its engine's epoch passes it traps with "interrupt" at its next
loop header or function entry, whatever it is doing. The tick is coarse
(10 ms) so the thread costs nothing measurable; a deadline is honoured to
within one tick, late never early (one tick is added for the partial one).
"""

from __future__ import annotations

import math
import threading

import wasmtime

TICK_S = 0.01


def deadline_ticks(timeout_ms: int) -> int:
    """Ticks after the current epoch at which a `timeout_ms` execution is stopped."""
    return max(1, math.ceil(timeout_ms / (TICK_S * 1000))) + 1


class EpochTicker:
    """Advances the epoch of every engine it was given, every TICK_S, until stopped."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self._tick_s = tick_s
        self._engines: list[wasmtime.Engine] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, engine: wasmtime.Engine) -> None:
        """Tick `engine` from now on (starting the thread on first use)."""
        with self._lock:
            if not any(known is engine for known in self._engines):
                self._engines.append(engine)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wasm-epoch-ticker", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._tick_s):
            with self._lock:
                engines = tuple(self._engines)
            for engine in engines:
                engine.increment_epoch()

    def stop(self) -> None:
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
