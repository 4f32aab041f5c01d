"""Servers on loopback for the egress tests: an HTTP(S) origin that answers by path,
and canaries that count every connection they get (and must get none).

The origin speaks HTTP/1.1 through h11 (a real parser, so a smuggled second
request would show up as one) and records every request it parsed:
    /echo            200, JSON of the method, target, headers and body
    /redirect        `status` and `to` query parameters: a redirect there
    /big             `n` bytes (Content-Length), `/big-chunked` the same chunked
    /slow            the headers, then a body that never ends (until closed)
    /headers         `n` response headers
    /hop             hop-by-hop response headers the guard must drop
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import h11


@dataclass
class Seen:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Origin:
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> Origin:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> Origin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        self._writers.add(writer)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data:
                        return
                    continue
                if isinstance(event, h11.Request):
                    body = b""
                    while True:
                        part = conn.next_event()
                        if part is h11.NEED_DATA:
                            conn.receive_data(await reader.read(65536))
                        elif isinstance(part, h11.Data):
                            body += part.data
                        elif isinstance(part, h11.EndOfMessage):
                            break
                        else:
                            return
                    seen = Seen(
                        event.method.decode(),
                        event.target.decode(),
                        [(n.decode(), v.decode("latin-1")) for n, v in event.headers],
                        body,
                    )
                    self.seen.append(seen)
                    await self._answer(conn, writer, seen)
                    if conn.our_state is h11.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
                    continue
                return
        except (h11.ProtocolError, ConnectionError, ssl.SSLError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, conn: h11.Connection, writer: asyncio.StreamWriter, seen: Seen) -> None:
        url = urlsplit(seen.target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}

        async def send(status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            headers = [*headers, ("Content-Length", str(len(body)))]
            writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
            writer.write(conn.send(h11.Data(data=body)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()

        if url.path == "/echo":
            body = json.dumps(
                {
                    "method": seen.method,
                    "target": seen.target,
                    "headers": seen.headers,
                    "body": seen.body.decode("latin-1"),
                }
            ).encode()
            await send(200, [("Content-Type", "application/json"), ("Set-Cookie", "s=1")], body)
        elif url.path == "/redirect":
            await send(int(query.get("status", "302")), [("Location", query["to"])], b"")
        elif url.path == "/big":
            await send(200, [], b"x" * int(query["n"]))
        elif url.path == "/big-chunked":
            writer.write(conn.send(h11.Response(status_code=200, headers=[])) or b"")
            left = int(query["n"])
            while left > 0:
                chunk = min(left, 65536)
                writer.write(conn.send(h11.Data(data=b"y" * chunk)) or b"")
                left -= chunk
                await writer.drain()
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
        elif url.path == "/slow":
            writer.write(conn.send(h11.Response(status_code=200, headers=[])) or b"")
            writer.write(conn.send(h11.Data(data=b"first")) or b"")
            await writer.drain()
            await self._release.wait()
        elif url.path == "/headers":
            await send(200, [(f"X-H{i}", "v") for i in range(int(query["n"]))], b"")
        elif url.path == "/hop":
            await send(
                200,
                [
                    ("Connection", "X-Private"),
                    ("X-Private", "secret-of-the-hop"),
                    ("Keep-Alive", "timeout=5"),
                    ("Upgrade", "h2c"),
                    ("X-Kept", "yes"),
                ],
                b"ok",
            )
        else:
            await send(404, [], b"no such path")


@dataclass
class Canary:
    """Counts every TCP connection; answers nothing."""

    host: str = "127.0.0.1"
    port: int = 0
    hits: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> Canary:
        self._server = await asyncio.start_server(self._hit, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _hit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hits += 1
        writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
