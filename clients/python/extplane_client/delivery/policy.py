"""What a sink's answer means for the events sent, and how long to wait before trying again.

Every gRPC status falls in one of seven groups (docs/adapters.md has the table):

* delivered: OK, and ALREADY_EXISTS for a single event (the sink has it already).
* retry: the answer is about the sink or the road to it, not about the events:
  UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, CANCELLED, and
  UNIMPLEMENTED from the unary RPC (a misrouted address). The events wait in the
  queue and are sent again, however long it takes; dropping them would lose good
  events to a fixable outage.
* denied: UNAUTHENTICATED or PERMISSION_DENIED: the sink refuses this *writer*
  (its token, role or certificate), whatever the events. Resending the same
  credentials cannot help, and a queue retrying them forever would hold every
  later event behind it; the call's events end, counted as `denied`, and are not
  re-sent one by one (each would be refused alike).
* server error: INTERNAL, UNKNOWN and DATA_LOSS. Often a passing fault, retried; but a
  sink that crashes on one particular event would block the queue forever behind
  it, so after a bounded number of attempts the events are treated as rejected.
* rejected: the sink refused these events and would refuse them again
  (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND; ALREADY_EXISTS for
  a batch, where it names only some of the events).
* fallback: UNIMPLEMENTED from the batch RPC: the sink implements only the unary one.
* too large: RESOURCE_EXHAUSTED because the request passed a message size limit, the
  sender's or the receiver's. Resending the same request cannot help: a batch is split,
  and an event refused alone is oversized. Any other RESOURCE_EXHAUSTED is a quota or
  an overload, retried.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

import grpc


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    SERVER_ERROR = "server_error"
    REJECTED = "rejected"
    FALLBACK = "fallback"
    TOO_LARGE = "too_large"
    DENIED = "denied"


_RETRY = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
    }
)
_DENIED = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
_SERVER_ERROR = frozenset(
    {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS}
)


# How gRPC implementations word a refusal for size (matched case-insensitively):
# C-core (Python, C++, Ruby, PHP) and grpc-js "Received/Sent message larger than max
# (N vs. L)", grpc-go "grpc: received message larger than max", "grpc: trying to send
# message larger than max", grpc-java "gRPC message exceeds maximum size L: N",
# Connect "message size N is larger than configured readMaxBytes L", grpc-dotnet
# "... exceeds the maximum configured message size".
_TOO_LARGE = re.compile(
    r"(received|sent|send) message larger than max"
    r"|message after decompression larger than max"
    r"|message exceeds maximum size"
    r"|larger than configured readmaxbytes"
    r"|exceeds the maximum configured message size",
    re.IGNORECASE,
)
# C-core refusing the *answer* for the client's own receive limit: the request got
# through, so it is no verdict on its size; a channel setting an operator fixes.
_ANSWER_TOO_LARGE = re.compile(r"client: received message larger than max", re.IGNORECASE)
# C-core, grpc-js and grpc-go give the size and the limit as "(N vs. L)".
_LIMIT = re.compile(r"larger than max \((\d+) vs\. (\d+)\)", re.IGNORECASE)


def classify(code: grpc.StatusCode, *, batch: bool, details: str = "") -> Verdict:
    """The verdict on a call that ended with `code` and the text `details`.

    `batch`: it was the batch RPC.
    """
    if code is grpc.StatusCode.OK:
        return Verdict.DELIVERED
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and is_size_refusal(details):
        return Verdict.TOO_LARGE
    if code in _RETRY:
        return Verdict.RETRY
    if code in _DENIED:
        return Verdict.DENIED
    if code in _SERVER_ERROR:
        return Verdict.SERVER_ERROR
    if code is grpc.StatusCode.UNIMPLEMENTED:
        # A sink without the unary RPC is not a sink of this contract at all: a
        # misrouted address, fixed by the operator, so the events wait for it.
        return Verdict.FALLBACK if batch else Verdict.RETRY
    if code is grpc.StatusCode.ALREADY_EXISTS and not batch:
        return Verdict.DELIVERED
    return Verdict.REJECTED


def is_size_refusal(details: str) -> bool:
    """True when a RESOURCE_EXHAUSTED with this text refused a request for its size."""
    return _TOO_LARGE.search(details) is not None and not _ANSWER_TOO_LARGE.search(details)


def size_limit(details: str) -> int | None:
    """The message size limit a size refusal names, when it names one ("N vs. L")."""
    match = _LIMIT.search(details)
    if match is None:
        return None
    limit = int(match.group(2))
    return limit if limit > 0 else None


def status_code(error: grpc.RpcError) -> grpc.StatusCode:
    """The status of a failed call; UNKNOWN for an `RpcError` that carries none."""
    if isinstance(error, grpc.Call):
        code = error.code()
        if isinstance(code, grpc.StatusCode):
            return code
    return grpc.StatusCode.UNKNOWN


# Past this many doublings the ceiling is `cap` anyway; the bound keeps 2**n finite.
_MAX_DOUBLINGS = 60


def backoff_delay(
    attempt: int, *, initial: float, cap: float, uniform: Callable[[], float]
) -> float:
    """The wait before retry number `attempt` (0 for the first): full jitter.

    Drawn uniformly from [0, min(cap, initial * 2**attempt)); `uniform` returns a
    number in [0, 1), like `random.random`.
    """
    ceiling = min(cap, initial * 2.0 ** min(max(attempt, 0), _MAX_DOUBLINGS))
    return uniform() * ceiling
