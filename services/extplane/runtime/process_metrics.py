"""The process's one `Metrics`: every server of a process reports into it, and its
registry is what the process's `/metrics` endpoint serves."""

from __future__ import annotations

import threading

from extplane.runtime.rpc_metrics import Metrics

_process_metrics: Metrics | None = None
_process_metrics_lock = threading.Lock()


def process_metrics() -> Metrics:
    """The `Metrics` shared by every server of this process, created on first use."""
    global _process_metrics
    with _process_metrics_lock:
        if _process_metrics is None:
            _process_metrics = Metrics()
        return _process_metrics
