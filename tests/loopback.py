"""Loopback helpers shared by every test area (tests only ever dial 127.0.0.1)."""

from __future__ import annotations

import socket


def unused_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def dead_address() -> str:
    """`127.0.0.1:<port>` where nothing listens, for "the upstream is down" cases."""
    return f"127.0.0.1:{unused_port()}"
