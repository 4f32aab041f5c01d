"""The `Retry-After` a full pool answers: about how long the jobs already waiting
take to clear, from how long recent jobs held a worker."""

from __future__ import annotations

import math
from collections import deque

MIN_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 60.0
_WINDOW = 64


class RecentDurations:
    """The last few job durations (seconds), and the retry estimate made from them."""

    def __init__(self) -> None:
        self._durations: deque[float] = deque(maxlen=_WINDOW)
        self._total = 0.0

    def record(self, seconds: float) -> None:
        if len(self._durations) == self._durations.maxlen:
            self._total -= self._durations[0]
        self._durations.append(seconds)
        self._total += seconds

    def mean_s(self) -> float | None:
        return self._total / len(self._durations) if self._durations else None

    def retry_after_s(self, waiting: int, workers: int) -> float:
        """Whole seconds for `waiting` jobs to run on `workers` at the recent mean
        (HTTP's Retry-After counts whole seconds), within 1 s .. 60 s."""
        mean = self.mean_s()
        if mean is None:
            return MIN_RETRY_AFTER_S
        estimate = math.ceil(waiting * mean / max(1, workers))
        return float(min(MAX_RETRY_AFTER_S, max(MIN_RETRY_AFTER_S, estimate)))
