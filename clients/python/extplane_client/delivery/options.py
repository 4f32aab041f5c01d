"""How a runtime-side sink queues, batches, retries and waits: one frozen settings object."""

from __future__ import annotations

import math
from dataclasses import dataclass

# The batch RPCs of MeteringSink and AuditSink take at most this many events per call.
MAX_BATCH_LIMIT = 1000


@dataclass(frozen=True)
class DeliveryOptions:
    """Bounds and timings of a sink's delivery; the defaults suit a production runtime.

    capacity: events held at most (queued plus the batch being sent); past it,
        `record()` refuses the event and counts it as overflowed.
    max_batch: events per batch call, at most 1000 (the contract's limit).
    max_batch_bytes: encoded bytes per batch call; a batch ends before the event that
        would pass it (an event larger than this still goes, alone). Stays well below
        gRPC's default 4 MiB message limit.
    max_delay: seconds an event waits, at most about, for its batch to fill.
    call_timeout: deadline of each RPC, in seconds.
    initial_backoff, max_backoff: retry waits grow from `initial_backoff` by doubling
        up to `max_backoff` seconds; each wait is drawn uniformly below that ceiling
        ("full jitter"), so many runtimes retrying one sink spread out.
    server_error_attempts: attempts for a call that fails with INTERNAL, UNKNOWN or
        DATA_LOSS before its events are treated as rejected (see docs/adapters.md).
    """

    capacity: int = 10_000
    max_batch: int = MAX_BATCH_LIMIT
    max_batch_bytes: int = 1 << 20
    max_delay: float = 0.5
    call_timeout: float = 10.0
    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    server_error_attempts: int = 5

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity: must be at least 1, got {self.capacity}")
        if not 1 <= self.max_batch <= MAX_BATCH_LIMIT:
            raise ValueError(f"max_batch: must be 1-{MAX_BATCH_LIMIT}, got {self.max_batch}")
        if self.max_batch_bytes < 1:
            raise ValueError(f"max_batch_bytes: must be at least 1, got {self.max_batch_bytes}")
        for name in ("max_delay", "call_timeout", "initial_backoff", "max_backoff"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: must be a positive number of seconds, got {value}")
        if self.max_backoff < self.initial_backoff:
            raise ValueError(
                f"max_backoff: must be at least initial_backoff ({self.initial_backoff}), "
                f"got {self.max_backoff}"
            )
        if self.server_error_attempts < 1:
            raise ValueError(
                f"server_error_attempts: must be at least 1, got {self.server_error_attempts}"
            )
