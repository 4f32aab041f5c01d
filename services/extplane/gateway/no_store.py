"""`Cache-Control: no-store` on every answer that depends on a credential.

A response to a request that carried `Authorization`, and every 401 and 403,
must not be kept by a browser or a shared cache (RFC 9111 section 5.2.2.5):
a cached page of audit records would outlive the token that read it. The
ETag stays, so a client may still revalidate what it keeps itself.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"
_CREDENTIAL_REFUSALS = frozenset({401, 403})


class NoStoreForCredentials:
    """ASGI middleware: sets `Cache-Control: no-store` where a credential is involved."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carried = any(name.lower() == b"authorization" for name, _ in scope.get("headers", ()))

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                carried or message.get("status") in _CREDENTIAL_REFUSALS
            ):
                MutableHeaders(scope=message)["cache-control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_marked)
