"""How a runtime-side sink queues, batches, retries and waits: one frozen settings object."""

from __future__ import annotations

import math
from dataclasses import dataclass

# The batch RPCs of MeteringSink and AuditSink take at most this many events per call.
MAX_BATCH_LIMIT = 1000
# gRPC's default limit on a message a server receives (grpc.max_receive_message_length).
GRPC_DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024
# More unary calls at once than this only queue up in the channel.
MAX_UNARY_CONCURRENCY = 1000
# gRPC takes message limits as a signed 32-bit channel argument.
_MAX_MESSAGE_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class DeliveryOptions:
    """Bounds and timings of a sink's delivery; the defaults suit a production runtime.

    capacity: events held at most (queued plus the batch being sent); past it,
        `record()` refuses the event and counts it as overflowed.
    max_batch: events per batch call, at most 1000 (the contract's limit).
    max_batch_bytes: encoded bytes per batch call; a batch ends before the event that
        would pass it (an event larger than this still goes, alone). A batch never
        passes `max_message_bytes` either.
    max_delay: seconds an event waits, at most about, for its batch to fill.
    call_timeout: deadline of each RPC, in seconds.
    initial_backoff, max_backoff: retry waits grow from `initial_backoff` by doubling
        up to `max_backoff` seconds; each wait is drawn uniformly below that ceiling
        ("full jitter"), so many runtimes retrying one sink spread out.
    server_error_attempts: attempts for a call that fails with INTERNAL, UNKNOWN or
        DATA_LOSS before its events are treated as rejected (see docs/adapters.md).
    max_message_bytes: the largest request the sink takes: its receive limit (gRPC's
        default, 4 MiB, unless the sink says otherwise). An event whose request would be
        larger is never sent: it is counted as oversized. The sink's own channel is
        given the same send limit.
    unary_concurrency: unary calls in flight at once for a sink that implements only
        the unary RPC (each event its own call); 1 sends them one at a time, in order.
    """

    capacity: int = 10_000
    max_batch: int = MAX_BATCH_LIMIT
    max_batch_bytes: int = 1 << 20
    max_delay: float = 0.5
    call_timeout: float = 10.0
    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    server_error_attempts: int = 5
    # New fields go last, so a positional construction keeps its meaning.
    max_message_bytes: int = GRPC_DEFAULT_MAX_MESSAGE
    unary_concurrency: int = 16

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity: must be at least 1, got {self.capacity}")
        if not 1 <= self.max_batch <= MAX_BATCH_LIMIT:
            raise ValueError(f"max_batch: must be 1-{MAX_BATCH_LIMIT}, got {self.max_batch}")
        if self.max_batch_bytes < 1:
            raise ValueError(f"max_batch_bytes: must be at least 1, got {self.max_batch_bytes}")
        if not 1 <= self.max_message_bytes <= _MAX_MESSAGE_LIMIT:
            raise ValueError(
                f"max_message_bytes: must be 1-{_MAX_MESSAGE_LIMIT}, got {self.max_message_bytes}"
            )
        if not 1 <= self.unary_concurrency <= MAX_UNARY_CONCURRENCY:
            raise ValueError(
                f"unary_concurrency: must be 1-{MAX_UNARY_CONCURRENCY}, "
                f"got {self.unary_concurrency}"
            )
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
