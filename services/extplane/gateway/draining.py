"""The HTTP requests in flight, so a drain can wait for them or cut them short.

Uvicorn stops accepting connections and lets running requests finish; it has
no way to end them early with an answer of our choosing. `RequestDrain` wraps
the app: it knows each request's task, and `cut_short()` cancels them. A cut
request whose answer has not started gets `503` with a `google.rpc.Status`
UNAVAILABLE body (what a gRPC server cut short tells its callers); one whose
answer has started is left unterminated, so the server drops the connection
and the client sees a truncated transfer, as for a stream that fails halfway.
"""

from __future__ import annotations

import asyncio

import grpc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extplane.gateway.errors import RequestError

SHUTTING_DOWN = "the gateway is shutting down"


class RequestDrain:
    """Tracks the app's HTTP requests; `draining` is what `/readyz` reports."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[object]] = set()
        self._cut: set[asyncio.Task[object]] = set()
        self._draining = False

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def begin(self) -> None:
        """From now on the gateway reports itself not ready."""
        self._draining = True

    def cut_short(self) -> int:
        """Cancel every request in flight; returns how many there were."""
        for task in self._running - self._cut:
            self._cut.add(task)
            task.cancel()
        return len(self._running)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            await self._serve(app, scope, receive, send)

        return tracked

    async def _serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None  # ASGI servers run each request in a task
        answered = False

        async def send_noting_start(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        self._running.add(task)
        try:
            await app(scope, receive, send_noting_start)
        except asyncio.CancelledError:
            # Ours to absorb only if the cut was the one cancellation (as
            # asyncio.timeout does); the server's own cancellation goes on.
            if task not in self._cut or task.uncancel() > 0:
                raise
            if not answered:
                await _send_unavailable(send)
        finally:
            self._running.discard(task)
            self._cut.discard(task)


async def _send_unavailable(send: Send) -> None:
    error = RequestError(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
    await send(
        {
            "type": "http.response.start",
            "status": error.http_status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": error.body(), "more_body": False})
