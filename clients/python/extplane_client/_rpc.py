"""What the typed clients share: a channel they own or borrow, the bearer token,
deadlines, timestamps, and a failed call turned into the client's own error."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar, cast

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status

from extplane_client.errors import ExtplaneError
from extplane_client.tls import ClientTls, aio_channel

ErrorT = TypeVar("ErrorT", bound=ExtplaneError)
ChoiceT = TypeVar("ChoiceT")
ResponseT = TypeVar("ResponseT")
Metadata = tuple[tuple[str, str], ...]

# gRPC metadata values are printable ASCII; anything else fails every call.
_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x21, 0x7F))


def bearer_metadata(token: str | None) -> Metadata:
    """The `authorization: Bearer <token>` metadata for `token` (none for None)."""
    if token is None:
        return ()
    if not token or not set(token) <= _PRINTABLE_ASCII:
        raise ValueError("token: must be non-empty printable ASCII without spaces")
    return (("authorization", f"Bearer {token}"),)


class ChannelClient:
    """Given an address, the client opens and owns a channel — TLS per `tls`,
    plaintext without — and `close()` closes it; given a channel (interceptors,
    options of your own), the caller keeps ownership of it.

    `token`, when given, goes with every call as `authorization: Bearer <token>`.
    A failed call raises the client's `error_type`.
    """

    error_type: ClassVar[type[ExtplaneError]] = ExtplaneError
    # Options of the channel the client opens itself (e.g. a larger receive limit).
    channel_options: ClassVar[tuple[tuple[str, Any], ...]] = ()

    def __init__(
        self,
        target: str | grpc.aio.Channel,
        *,
        token: str | None = None,
        tls: ClientTls | None = None,
    ) -> None:
        metadata = bearer_metadata(token)
        if isinstance(target, str):
            if not target:
                raise ValueError("target: an address like '127.0.0.1:50051' is required")
            self._channel = aio_channel(target, tls, options=self.channel_options)
            self._owns_channel = True
        else:
            if tls is not None:
                raise ValueError("tls: only with an address; a channel given has its own")
            self._channel = target
            self._owns_channel = False
        self._metadata: Metadata = metadata
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")

    async def _unary(
        self,
        rpc: Callable[..., Awaitable[ResponseT]],
        request: Message,
        timeout: float,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> ResponseT:
        """One unary call with the token and `timeout` as its deadline."""
        self._check_open()
        try:
            return await rpc(request, metadata=self._metadata, timeout=check_timeout(timeout))
        except grpc.aio.AioRpcError as error:
            raise rpc_error(self.error_type, error) from error

    async def close(self) -> None:
        """Safe to call twice; closes the channel only when the client opened it."""
        if self._closed:
            return
        self._closed = True
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def check_timeout(timeout: float) -> float:
    """`timeout` (seconds) is sent as the gRPC deadline, so the service honours it too."""
    if not timeout > 0 or math.isinf(timeout):  # also refuses NaN
        raise ValueError(f"timeout: must be a finite number of seconds > 0, got {timeout}")
    return timeout


def rpc_error(error_type: type[ErrorT], error: grpc.aio.AioRpcError) -> ErrorT:
    """The client's error for a failed call, with the fields a refusal names."""
    return error_type(
        error.code(), error.details() or "", field_violations=_field_violations(error)
    )


def _field_violations(error: grpc.aio.AioRpcError) -> Mapping[str, str]:
    try:
        status = rpc_status.from_call(cast("grpc.Call", error))
    except ValueError:  # a status whose code or message disagrees with the call's
        return {}
    found: dict[str, str] = {}
    for detail in status.details if status is not None else ():
        bad = BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


def to_timestamp(moment: datetime, name: str) -> Timestamp:
    """A Timestamp of an aware datetime; a naive one is refused, as its zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: needs a time zone (e.g. datetime.now(UTC))")
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    """An aware UTC datetime (microseconds: datetime holds no finer time)."""
    return stamp.ToDatetime(tzinfo=UTC)


def choice(choices: Mapping[str, ChoiceT], name: str, setting: str) -> ChoiceT:
    """The enum value a short name (`"hour"`, `"csv"`) stands for; ValueError otherwise."""
    try:
        return choices[name]
    except KeyError:
        raise ValueError(f"{setting}: {name!r} is not one of {', '.join(choices)}") from None
