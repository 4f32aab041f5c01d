"""Per-install token buckets: each install may log `per_minute` records a
minute, in bursts of up to a minute's worth.

The rate is the install's `log_records_per_minute` limit, read from the
install store when its bucket is made and re-read every `refresh_s`, so a
changed limit takes effect within that time without a store read per call.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

REFRESH_S = 60.0
MAX_BUCKETS = 10_000


@dataclass(slots=True)
class _Bucket:
    per_minute: int
    tokens: float
    filled_at: float
    read_at: float

    def take(self, now: float) -> bool:
        rate_per_s = self.per_minute / 60.0
        self.tokens = min(float(self.per_minute), self.tokens + (now - self.filled_at) * rate_per_s)
        self.filled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class LogRateLimits:
    """`limit_of(tenant, install)` answers the install's records per minute."""

    def __init__(
        self,
        limit_of: Callable[[str, str], Awaitable[int]],
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_s: float = REFRESH_S,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self._limit_of = limit_of
        self._clock = clock
        self._refresh_s = refresh_s
        self._max_buckets = max_buckets
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    async def allow(self, tenant_id: str, install_id: str) -> bool:
        """Whether the install may log one more record now (and takes it if so)."""
        key = (tenant_id, install_id)
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            per_minute = max(1, await self._limit_of(tenant_id, install_id))
            bucket = _Bucket(per_minute, float(per_minute), now, now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_buckets:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            if now - bucket.read_at >= self._refresh_s:
                bucket.per_minute = max(1, await self._limit_of(tenant_id, install_id))
                bucket.read_at = now
        return bucket.take(now)
