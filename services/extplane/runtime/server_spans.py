"""The server span of every RPC, for the servers' interceptor (`observing`).

It continues the caller's W3C trace context and carries the OpenTelemetry RPC
conventions' attributes; under the ids-only provider (`tracing`), a span that
would not be recorded draws its ids only when something asks for them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
)
from opentelemetry.util.types import Attributes

from extplane.runtime.tracing import is_ids_only

if TYPE_CHECKING:
    from contextvars import Token


# The server-side codes the OpenTelemetry RPC conventions count as the server's
# failure; the others (NOT_FOUND, INVALID_ARGUMENT, ...) are the caller's.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

Metadata = Iterable[tuple[str, str | bytes]]


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop running in this thread
        return None


class OpenServerSpan:
    """A server span that is current until `close`; made by `ServerSpans.open`."""

    __slots__ = ("_span", "_task", "_token")

    def __init__(self, span: Span, token: Token[otel_context.Context]) -> None:
        self._span = span
        self._token = token
        self._task = _current_task()

    def close(
        self, code: grpc.StatusCode, details: str | None, error: BaseException | None
    ) -> None:
        """End the span with the RPC's final status, and make it no longer current.

        `error` is an exception the handler did not mean to raise, if any.
        """
        span = self._span
        # Most spans are not recorded (no exporter, or sampled out): they only
        # carry ids, and setting anything on them would be thrown away.
        if span.is_recording():
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            if error is not None:
                span.record_exception(error)
            if code in _SERVER_ERRORS:
                description = f"{code.name}: {details}" if details else code.name
                span.set_status(Status(StatusCode.ERROR, description))
        span.end()
        # When its client goes away mid-write, grpc.aio abandons a response stream
        # and it is closed later from another task; there the span was never made
        # current, and detaching would fail (and log an error).
        if _current_task() is self._task:
            otel_context.detach(self._token)


class _DeferredIdsSpan(NonRecordingSpan):
    """An unrecorded server span that asks the tracer for its ids on first use.

    Most RPCs never log and never call on, so nothing reads their ids; drawing
    them (a sampler call, two random ids) is then skipped. The tracer still makes
    the span when asked, so ids and trace flags are exactly what it would give.
    """

    def __init__(
        self, tracer: trace.Tracer, name: str, parent: otel_context.Context, attributes: Attributes
    ) -> None:
        super().__init__(INVALID_SPAN_CONTEXT)
        self._tracer = tracer
        self._name = name
        self._parent = parent
        self._attributes = attributes
        self._started: Span | None = None

    def get_span_context(self) -> SpanContext:
        started = self._started
        if started is None:
            # The servicer may ask from a worker thread too: one set of ids only.
            with _deferred_lock:
                if self._started is None:
                    self._started = self._tracer.start_span(
                        self._name,
                        context=self._parent,
                        kind=SpanKind.SERVER,
                        attributes=self._attributes,
                    )
                started = self._started
        return started.get_span_context()

    def __repr__(self) -> str:
        return f"_DeferredIdsSpan({self._name!r}, started={self._started!r})"


_deferred_lock = threading.Lock()
# A call is a root of its own, whatever context the server's tasks inherit.
# (Contexts are never changed in place, so one empty context serves every call.)
_ROOT = otel_context.Context()


class ServerSpans:
    """Opens a server span per RPC that continues the caller's trace context.

    Purpose-built for the server interceptor: the caller's context is extracted
    with the global propagator only when the metadata carries one of its fields,
    the span gets the RPC conventions' attributes (`rpc.system`, `rpc.service`,
    `rpc.method`, and `rpc.grpc.status_code` when it ends), and nothing is set on
    a span that is not recorded. The tracer is resolved through the global
    provider (or the one given), so `configure_tracing` may run after this exists.

    Under the provider `configure_tracing` installs without an exporter, a span
    the sampler would not record (no caller's trace, or an unsampled one) draws
    its ids only when something asks for them: a log record, an onward call.
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._given_provider = tracer_provider
        self._tracer = trace.get_tracer("extplane.runtime", tracer_provider=tracer_provider)
        self._textmap = propagate.get_global_textmap()
        self._fields = frozenset(self._textmap.fields)

    @staticmethod
    def attributes(service: str, method: str) -> Attributes:
        """The start attributes of every span of one RPC method (shared, not copied)."""
        return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}

    def open(self, name: str, attributes: Attributes, metadata: Metadata) -> OpenServerSpan:
        """Start the span `name` under the caller's context and make it current."""
        parent = self._caller_context(metadata)
        span: Span
        if self._ids_only() and not (
            parent is not _ROOT
            and trace.get_current_span(parent).get_span_context().trace_flags.sampled
        ):
            span = _DeferredIdsSpan(self._tracer, name, parent, attributes)
        else:
            span = self._tracer.start_span(
                name, context=parent, kind=SpanKind.SERVER, attributes=attributes
            )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        return OpenServerSpan(span, token)

    def _ids_only(self) -> bool:
        provider = self._given_provider
        if provider is None:
            provider = trace.get_tracer_provider()
        return is_ids_only(provider)

    def _caller_context(self, metadata: Metadata) -> otel_context.Context:
        textmap = propagate.get_global_textmap()
        if textmap is not self._textmap:  # configure_tracing installed its propagator
            self._textmap, self._fields = textmap, frozenset(textmap.fields)
        fields = self._fields
        carrier: dict[str, str] | None = None
        for key, value in metadata:
            if key in fields and isinstance(value, str):
                if carrier is None:
                    carrier = {}
                carrier[key] = value
        if carrier is None:
            return _ROOT
        return self._textmap.extract(carrier, context=_ROOT)
