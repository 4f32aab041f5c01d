"""Idempotency keys: a retry with the same key gets the first answer, not a second execution.

A key is scoped to (tenant, install): the same key from another tenant, or
for another install, is another key, so no tenant's answer is ever replayed
to another. The store is bounded (`capacity`; the oldest finished entries go
first) and entries expire after `ttl_s`. Check-and-insert is one step of the
event loop (no await between the lookup and the insert), so of two
concurrent requests with one key exactly one executes and the other waits
for its answer. A failed execution is not kept: its waiters get the same
error, and a later retry executes again. Reusing a key for a different
request is refused (INVALID_ARGUMENT naming `idempotency-key`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc

from extplane.errors import AbortedError, ExtplaneServerError
from extplane.runner.metrics import RunnerMetrics
from extplane.runtime import InvalidRequestError
from extplane_protos.alga.extension.v1 import handler_pb2

METADATA_KEY = "idempotency-key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")

T = TypeVar("T")
Scope = tuple[str, str, str]
"""(tenant, install id, key)."""


class IdempotencyStoreFullError(ExtplaneServerError):
    """Every slot holds an execution still running: the caller retries later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


def checked_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise InvalidRequestError.field(
            METADATA_KEY, "must be 1-255 printable ASCII characters without spaces"
        )
    return value


def fingerprint(request: handler_pb2.ExecuteRequest) -> str:
    """What makes two requests "the same" for a key: the HTTP request the client sent."""
    return hashlib.sha256(request.http.SerializeToString(deterministic=True)).hexdigest()


@dataclass
class _Entry(Generic[T]):
    fingerprint: str
    answer: asyncio.Future[T]
    expires: float = field(default=float("inf"))


class IdempotencyStore(Generic[T]):
    def __init__(
        self,
        *,
        ttl_s: float,
        capacity: int,
        clock: Callable[[], float] = time.monotonic,
        metrics: RunnerMetrics | None = None,
    ) -> None:
        self._metrics = metrics if metrics is not None else RunnerMetrics()
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[Scope, _Entry[T]] = OrderedDict()
        # Requests waiting for the first one with their key to finish.
        self.waiting = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def run(
        self,
        scope: Scope,
        digest: str,
        execute: Callable[[], Awaitable[T]],
    ) -> tuple[T, bool]:
        """(the answer, whether it is a replay) of the request under `scope`;
        `digest` tells one request from another (`fingerprint`)."""
        entry = self._live(scope)
        if entry is not None:
            if entry.fingerprint != digest:
                raise InvalidRequestError.field(
                    METADATA_KEY, "was already used for a different request to this install"
                )
            self._metrics.idempotency("replayed")
            self.waiting += 1
            try:
                return await asyncio.shield(entry.answer), True
            except asyncio.CancelledError:
                if not entry.answer.cancelled():
                    raise  # this caller went away
                raise AbortedError(
                    "the request first sent with this idempotency key was cancelled; retry"
                ) from None
            finally:
                self.waiting -= 1
        try:
            self._make_room()
        except IdempotencyStoreFullError:
            self._metrics.idempotency("refused")
            raise
        self._metrics.idempotency("executed")
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Retrieved even when nobody waits, so a failure is not reported as unhandled.
        answer.add_done_callback(lambda done: done.cancelled() or done.exception())
        entry = _Entry(digest, answer)
        self._entries[scope] = entry
        self._metrics.entries.set(len(self._entries))
        try:
            response = await execute()
        except BaseException as error:
            # Not kept: a later retry executes again; the waiters see this error.
            if self._entries.get(scope) is entry:
                del self._entries[scope]
                self._metrics.entries.set(len(self._entries))
            if isinstance(error, Exception):
                entry.answer.set_exception(error)
            else:
                entry.answer.cancel()
            raise
        entry.answer.set_result(response)
        entry.expires = self._clock() + self._ttl_s
        return response, False

    def _live(self, scope: Scope) -> _Entry[T] | None:
        entry = self._entries.get(scope)
        if entry is not None and entry.expires <= self._clock():
            del self._entries[scope]
            return None
        return entry

    def _make_room(self) -> None:
        now = self._clock()
        # Oldest first: the front is what expires first (entries of one TTL, in
        # about the order they finished); a later expired one goes when looked up.
        while self._entries:
            scope, oldest = next(iter(self._entries.items()))
            if oldest.expires > now:
                break
            del self._entries[scope]
        while len(self._entries) >= self._capacity:
            finished = next((s for s, e in self._entries.items() if e.answer.done()), None)
            if finished is None:
                raise IdempotencyStoreFullError(
                    "too many executions with an idempotency key are running; retry later"
                )
            del self._entries[finished]
