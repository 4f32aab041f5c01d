"""Log lines that callers can cause, at a bounded rate.

A client that sends garbage, or finds a request that crashes a handler, must
not be able to fill the disk with tracebacks. Each kind of line (a key, e.g.
the method and status) has a token bucket: a burst of lines goes out, then
about `rate_per_s` a second; the lines held back are counted, and the next
line of that key that goes out says how many there were.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

DEFAULT_RATE_PER_S = 1.0
DEFAULT_BURST = 10
# Keys remembered at most; the least recently used is forgotten first.
DEFAULT_MAX_KEYS = 1024


@dataclass(slots=True)
class _Bucket:
    tokens: float
    refilled_at: float
    suppressed: int = 0


class LogBudget:
    """Token buckets by key; `admit(key)` says whether a line may be written now."""

    def __init__(
        self,
        *,
        rate_per_s: float = DEFAULT_RATE_PER_S,
        burst: int = DEFAULT_BURST,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate_per_s must be positive; burst and max_keys at least 1")
        self._rate = rate_per_s
        self._burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}
        # Handlers of one server run on one event loop, but the budget may be
        # shared with threads (the sink adapters, tests): keep it consistent.
        self._lock = threading.Lock()

    def admit(self, key: Hashable) -> int | None:
        """None: hold the line back (it is counted). Otherwise write it, adding that
        this many lines of the same key were held back since the last one written."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = _Bucket(tokens=float(self._burst), refilled_at=now)
                if len(self._buckets) >= self._max_keys:
                    del self._buckets[next(iter(self._buckets))]
            else:
                elapsed = max(0.0, now - bucket.refilled_at)
                bucket.tokens = min(float(self._burst), bucket.tokens + elapsed * self._rate)
                bucket.refilled_at = now
            self._buckets[key] = bucket  # most recently used last
            if bucket.tokens < 1.0:
                bucket.suppressed += 1
                return None
            bucket.tokens -= 1.0
            suppressed, bucket.suppressed = bucket.suppressed, 0
            return suppressed
