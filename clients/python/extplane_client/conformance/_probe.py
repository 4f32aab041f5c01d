"""What a probe works with: bounded calls that never raise, fresh names, a counter.

Every call carries a deadline and is also bounded on the kit's side, so an
implementation that never answers costs its deadline, never the run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from google.protobuf import text_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from google.rpc.error_details_pb2 import BadRequest

RequestT = TypeVar("RequestT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)

Counter = Callable[[str], Awaitable[int]]
"""How many events the implementation has stored in a namespace: the side channel
that makes "counted once" observable (a query service, a database, a log)."""

_STATUS_DETAILS = "grpc-status-details-bin"
_TEXT_LIMIT = 1200  # a whole event and then some; a 1000-event batch is cut
# The kit's own bound on a call, beyond its gRPC deadline: a client library that
# failed to enforce the deadline must still not hang the run.
_GRACE_S = 1.0


def one_line(message: Message) -> str:
    text = text_format.MessageToString(message, as_one_line=True, as_utf8=True)
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"… ({len(text)} chars)"


class CounterError(Exception):
    """The counter failed: the kit cannot see what was stored, which says nothing
    about the implementation (a check meeting it is unverifiable, not failed)."""


@dataclass(frozen=True)
class Method(Generic[RequestT, ResponseT]):
    """One unary RPC by its full path, e.g. `/orloj.extensions.v1.MeteringSink/RecordMetering`."""

    path: str
    request_type: type[RequestT]
    response_type: type[ResponseT]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def sent(self, request: Message) -> str:
        return f"{self.name}({one_line(request)})"


@dataclass(frozen=True)
class Answer(Generic[ResponseT]):
    """How a call ended: its status, the response on OK, the trailers, the time taken."""

    code: grpc.StatusCode
    message: str
    response: ResponseT | None
    trailers: tuple[tuple[str, str | bytes], ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.code is grpc.StatusCode.OK

    @property
    def result(self) -> ResponseT:
        """The response of a call that ended OK (check `ok` first)."""
        if self.response is None:
            raise ValueError(f"no response: the call ended {self.code.name}")
        return self.response

    def status_details(self) -> tuple[status_pb2.Status | None, str]:
        """The `google.rpc.Status` of the trailer, or why it is not usable ('' = none sent)."""
        raw = [value for key, value in self.trailers if key == _STATUS_DETAILS]
        if not raw:
            return None, ""
        if not isinstance(raw[0], bytes):
            return None, f"{_STATUS_DETAILS} is not binary"
        try:
            status = status_pb2.Status.FromString(raw[0])
        except DecodeError as error:
            return None, f"{_STATUS_DETAILS} does not decode as google.rpc.Status: {error}"
        if status.code != self.code.value[0]:
            return None, (
                f"{_STATUS_DETAILS} says code {status.code}, the call ended {self.code.name}"
            )
        return status, ""

    def field_violations(self) -> list[str]:
        status, _ = self.status_details()
        fields: list[str] = []
        for detail in status.details if status is not None else ():
            bad = BadRequest()
            if detail.Unpack(bad):
                fields.extend(v.field for v in bad.field_violations)
        return fields

    def describe(self) -> str:
        if self.ok:
            shown = one_line(self.response) if self.response is not None else ""
            return f"OK {{{shown}}} in {self.seconds:.3f}s"
        text = f"{self.code.name}: {self.message!r} after {self.seconds:.3f}s"
        fields = self.field_violations()
        return text + (f"; BadRequest fields {fields}" if fields else "")


@dataclass
class Probe:
    """One run's context. `facts` carry what earlier checks learned (e.g. `batch`)."""

    channel: grpc.aio.Channel
    metadata: tuple[tuple[str, str], ...]
    deadline_s: float
    counter: Counter | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, bool] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _names: int = 0

    def fresh(self, label: str) -> str:
        """A name no earlier run used: a namespace or resource a check owns alone."""
        self._names += 1
        return f"conformance-{self.run_id}-{self._names}-{label}"

    @staticmethod
    def event_id() -> str:
        return str(uuid.uuid4())

    def start(
        self,
        method: Method[RequestT, ResponseT],
        request: RequestT,
        *,
        timeout: float | None = None,
    ) -> grpc.aio.UnaryUnaryCall[Any, ResponseT]:
        callable_ = self.channel.unary_unary(
            method.path,
            request_serializer=method.request_type.SerializeToString,
            response_deserializer=method.response_type.FromString,
        )
        return callable_(request, timeout=timeout or self.deadline_s, metadata=self.metadata)

    async def call(
        self,
        method: Method[RequestT, ResponseT],
        request: RequestT,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> Answer[ResponseT]:
        """The call's outcome; never raises for a status, and never outlasts its deadline."""
        seconds = timeout or self.deadline_s
        began = time.monotonic()
        call = self.start(method, request, timeout=seconds)
        try:
            response = await asyncio.wait_for(call, seconds + _GRACE_S)
        except grpc.aio.AioRpcError as error:
            return Answer(
                error.code(),
                error.details() or "",
                None,
                tuple(error.trailing_metadata() or ()),
                time.monotonic() - began,
            )
        except TimeoutError:
            call.cancel()
            return Answer(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                "the kit gave up: the client library did not end the call at its deadline",
                None,
                (),
                time.monotonic() - began,
            )
        trailers = tuple(await call.trailing_metadata() or ())
        return Answer(grpc.StatusCode.OK, "", response, trailers, time.monotonic() - began)

    async def count(self, namespace: str) -> int:
        """Stored events in `namespace`, through the counter (the caller checks it is set)."""
        assert self.counter is not None
        try:
            return await asyncio.wait_for(self.counter(namespace), self.deadline_s * 5 + _GRACE_S)
        except Exception as error:
            raise CounterError(f"{type(error).__name__}: {error}") from error
