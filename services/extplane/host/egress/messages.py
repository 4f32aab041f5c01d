"""The guest's request and the answer it gets, as the guard takes and gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutboundRequest:
    """`body` None sends no body; b"" sends an empty one (Content-Length: 0)."""

    method: str
    url: str
    headers: Sequence[tuple[str, str]] = ()
    body: bytes | None = None


@dataclass(frozen=True)
class InboundResponse:
    """The final response (after any redirects followed); `body` None when the
    response has none (HEAD, 1xx, 204, 304). `sent`/`received` count the bytes
    of every hop (request line, headers and bodies) for metrics; `url` is the
    final hop's origin (scheme://host[:port]), never its path or query."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    url: str = ""
    redirects: int = 0
    sent: int = field(default=0, compare=False)
    received: int = field(default=0, compare=False)
