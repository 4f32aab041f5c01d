"""What the ui-proxy tests share: loopback HTTP upstreams that record every
request they receive and answer as told, and the dialer every test host uses,
which refuses to dial anything but a loopback IP literal (so a proxy bug fails
the test instead of sending traffic anywhere)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import grpc
import httpx
import pytest

from extplane.host.egress import EgressGuard, EgressLimits
from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from extplane.host.ui_proxy.dialer import (
    UpstreamResponse,
    UpstreamUnreachableError,
)
from extplane.host.ui_proxy.egress_dialer import EgressDialer
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import ui_proxy_pb2, ui_proxy_pb2_grpc
from extplane_protos.extplane.admin.v1 import installs_pb2


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [v for n, v in self.headers if n.lower() == name.lower()]
        assert len(found) <= 1, (name, found)
        return found[0] if found else None

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n.lower() for n, _ in self.headers)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    # Sent without a Content-Length, the connection closed at the end.
    chunked: bool = False
    # Answer only once the upstream closes (a hung upstream).
    hang: bool = False
    # Answer `<path> <x-extplane-tenant> <x-extplane-install>` instead of `body`.
    echo: bool = False
    # A Location header (a redirect), absolute or a path of this upstream.
    location: str | None = None


@dataclass
class Upstream:
    """A loopback HTTP server: what it received, and what it answers per path
    (`answers`, by path without the query; `default` otherwise)."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    default: Answer = field(default_factory=lambda: Answer(200, b"upstream ok"))
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def hits(self) -> int:
        with self.lock:
            return len(self.received)


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            with upstream.lock:
                upstream.received.append(
                    Received(self.command, self.path, tuple(self.headers.items()), body)
                )
            answer = upstream.answers.get(self.path.split("?", 1)[0], upstream.default)
            if answer.hang:
                upstream.released.wait()
                return
            self.send_response(answer.status)
            if answer.location is not None:
                self.send_header("location", answer.location)
            if answer.echo:
                who = (
                    self.headers.get("x-extplane-tenant"),
                    self.headers.get("x-extplane-install"),
                )
                answer = Answer(answer.status, f"{self.path} {who[0]} {who[1]}".encode())
            if answer.chunked:
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(answer.body)
                self.close_connection = True
                return
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@contextmanager
def serve_upstream(**options: object) -> Iterator[Upstream]:
    upstream = Upstream(**options)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream))
    server.daemon_threads = True
    upstream.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


class RecordingUpstreamDialer:
    """`UpstreamDialer` that sends through the host's own `EgressDialer` (the egress
    guard, over connections that open only to loopback, with 127.0.0.0/8 exempted)
    only to a loopback IP literal, and records (and refuses) every other URL it is
    asked to dial."""

    def __init__(self) -> None:
        guard = EgressGuard(
            resolver=StaticResolver(),
            network_backend=LoopbackOnlyDialer(),
            limits=EgressLimits(max_redirects=0),
        )
        self.inner = EgressDialer(guard, ["127.0.0.0/8"])
        self.refused: list[str] = []
        self.sent: list[str] = []

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        timeout_s: float,
        max_response_bytes: int,
    ) -> UpstreamResponse:
        host = httpx.URL(url).host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            self.refused.append(url)
            raise UpstreamUnreachableError("the test dialer dials loopback only")
        self.sent.append(url)
        return await self.inner.send(
            method,
            url,
            headers,
            body,
            timeout_s=timeout_s,
            max_response_bytes=max_response_bytes,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


if TYPE_CHECKING:  # real_host serves its hosts with this module's dialer
    from real_host import Metadata, RealHost

CAPS = ["cap:ui.proxy"]


def route(name: str, url: str, **secret: str) -> installs_pb2.UiProxyRoute:
    return installs_pb2.UiProxyRoute(route=name, upstream_url=url, **secret)


async def call(host: RealHost, md: Metadata, name: str, payload: bytes | None = None) -> Any:
    request = ui_proxy_pb2.UiProxyServiceCallRequest(route=name)
    if payload is not None:
        request.payload = payload
    return await ui_proxy_pb2_grpc.UiProxyServiceStub(host.channel).Call(request, metadata=md)


async def refused(host: RealHost, md: Metadata, name: str, payload: bytes | None = None) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(host, md, name, payload)
    return raised.value


def variant(error: grpc.aio.AioRpcError) -> str | None:
    found = alga_errors.variant_from_error(error)
    return None if found is None else found.name
