"""The Alga `logging` provider: an extension's log messages as bounded,
sanitised, rate-limited structured records (docs/host.md, `logging`)."""

from extplane.host.extension_logs.ring import LogRecord, RecentLogs
from extplane.host.extension_logs.servicer import LOGGING_SERVICE, LoggingServicer

__all__ = ["LOGGING_SERVICE", "LogRecord", "LoggingServicer", "RecentLogs"]
