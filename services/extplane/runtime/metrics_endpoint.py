"""The process's `/metrics` endpoint: serves one registry over HTTP."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.process_metrics import process_metrics
from extplane.runtime.rpc_metrics import Metrics

if TYPE_CHECKING:
    from extplane.config import MetricsSettings


class MetricsEndpoint(AsyncLifecycle):
    """Serves `metrics.registry` over HTTP at `settings.host:settings.port`.

    Does nothing when `settings.enabled` is false (`.port` stays None). Port 0
    binds an ephemeral port, readable from `.port` once started.
    """

    def __init__(self, settings: MetricsSettings, metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics if metrics is not None else process_metrics()
        self._httpd: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    @property
    def port(self) -> int | None:
        return self._httpd.server_port if self._httpd is not None else None

    async def start(self) -> None:
        if not self._settings.enabled or self._httpd is not None:
            return
        # prometheus-client serves from a daemon thread of its own, so a slow
        # scrape never competes with RPCs for the event loop.
        self._httpd, self._thread = start_http_server(
            self._settings.port, addr=self._settings.host, registry=self._metrics.registry
        )

    async def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        await asyncio.to_thread(httpd.shutdown)
        httpd.server_close()
        if thread is not None:
            await asyncio.to_thread(thread.join)
