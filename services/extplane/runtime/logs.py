"""Structured logs: one JSON object per line, tagged with the service and the current trace.

Every record gets `service`, and `trace_id`/`span_id` (lower-case hex, as in a W3C
traceparent) when an OpenTelemetry span is current, so a log line can be found
from a trace and the other way round.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from extplane.config import LoggingSettings


class TraceContextFilter(logging.Filter):
    """Adds `service`, and the current span's `trace_id` and `span_id`, to each record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self._service
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = trace.format_trace_id(span_context.trace_id)
            record.span_id = trace.format_span_id(span_context.span_id)
        return True


class _ExtplaneHandler(logging.StreamHandler[TextIO]):
    """Marks the handler `configure_logging` owns, so a second call replaces it."""


# uvicorn attaches a copy of each message with terminal colour codes; a JSON line
# must not carry escape sequences.
_DROPPED_EXTRAS = frozenset({"color_message"})


def _formatter(json_format: bool) -> logging.Formatter:
    if json_format:
        return JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, *_DROPPED_EXTRAS],
            timestamp=True,
        )
    return logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(service)s trace=%(trace_id)s] %(message)s",
        defaults={"trace_id": "-"},
    )


def configure_logging(
    settings: LoggingSettings, service: str, *, stream: TextIO | None = None
) -> None:
    """Send every log record of the process to `stream` (stderr by default) at
    `settings.level`. Calling it again replaces the previous configuration.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ExtplaneHandler):
            root.removeHandler(handler)
    handler = _ExtplaneHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(TraceContextFilter(service))
    handler.setFormatter(_formatter(settings.json_format))
    root.addHandler(handler)
    root.setLevel(settings.level)
