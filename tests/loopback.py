"""Loopback helpers shared by every test area (tests only ever dial 127.0.0.1)."""

from __future__ import annotations

import socket

import grpc

from extplane.runtime.interceptors import server_interceptors
from extplane.runtime.rpc_metrics import Metrics


def unused_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def dead_address() -> str:
    """`127.0.0.1:<port>` where nothing listens, for "the upstream is down" cases."""
    return f"127.0.0.1:{unused_port()}"


def runtime_server() -> grpc.aio.Server:
    """A bare grpc.aio server with the interceptor every extplane server runs, so
    servicers behave as in production (their refusals become statuses there)."""
    return grpc.aio.server(interceptors=server_interceptors(Metrics()))
