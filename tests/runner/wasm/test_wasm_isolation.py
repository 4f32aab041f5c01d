"""Misbehaving components fail alone, naming the cause; the next execution works.

Also what a guest can reach of the machine: no files, no environment, no
network (sockets, DNS, wasi:http), checked against loopback canaries.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from wasm_support import job, response, run

from extplane.runner.jobs import ExecutionLimits
from extplane.runner.wasm import run_job

# A guest's first build and compile take a minute or more on a busy 2-core
# machine; both are cached (build/), so later sessions take seconds.
pytestmark = pytest.mark.timeout(900)


async def noop_still_works() -> None:
    assert response(await run(job("noop"))).status == 204


@pytest.mark.parametrize(
    ("name", "limits", "failure"),
    [
        ("trap", ExecutionLimits(), "trap: "),
        ("spin", ExecutionLimits(timeout_ms=300), "timeout"),
        ("hog", ExecutionLimits(memory_bytes=64 * 1024 * 1024), "memory"),
        ("spin", ExecutionLimits(fuel=50_000_000), "fuel"),
    ],
    ids=["trap", "timeout", "memory", "fuel"],
)
async def test_a_misbehaving_component_fails_alone(
    name: str, limits: ExecutionLimits, failure: str
) -> None:
    await noop_still_works()
    outcome = await run(job(name, limits=limits))
    assert outcome.response is None
    assert outcome.failure is not None
    assert outcome.failure.startswith(failure), outcome
    await noop_still_works()
    # The same component runs again in a fresh instance and fails the same way.
    again = await run(job(name, limits=limits))
    assert again.failure is not None
    assert again.failure.startswith(failure)


async def test_the_trap_names_its_cause_and_keeps_the_guest_output() -> None:
    outcome = await run(job("trap"))
    assert outcome.failure == "trap: wasm trap: wasm `unreachable` instruction executed"
    assert any("the trap guest gives up" in line for line in outcome.guest_output)


async def test_oversized_request_and_response_are_refused() -> None:
    small = ExecutionLimits(max_request_bytes=64)
    assert (await run(job("imports", b"x" * 100, limits=small))).failure == "request too large"
    tiny = ExecutionLimits(max_response_bytes=16)
    outcome = await run(job("imports", b'{"calls": []}', limits=tiny))
    assert outcome.failure == "response too large"


async def test_a_guest_sees_no_host_files_and_no_environment() -> None:
    seen = json.loads(response(await run(job("files"))).body)
    for attempt in ("passwd", "hostname", "list_root", "list_cwd", "write_tmp"):
        assert "error" in seen[attempt], (attempt, seen[attempt])
    assert seen["environ"] == {}


@dataclass
class Canary:
    """A TCP and a UDP socket on 127.0.0.1 counting whatever reaches them."""

    port: int
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def canary() -> Iterator[Canary]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    found = Canary(port)
    stop = threading.Event()

    def watch(sock: socket.socket, kind: str) -> None:
        sock.settimeout(0.05)
        while not stop.is_set():
            try:
                if kind == "tcp":
                    sock.accept()[0].close()
                else:
                    sock.recvfrom(100)
            except TimeoutError:
                continue
            found.hits.append(kind)

    threads = [threading.Thread(target=watch, args=(s, k)) for s, k in ((tcp, "tcp"), (udp, "udp"))]
    for thread in threads:
        thread.start()
    try:
        yield found
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        tcp.close()
        udp.close()


async def test_a_guest_opens_no_socket(canary: Canary) -> None:
    body = json.dumps({"host": "127.0.0.1", "port": canary.port}).encode()
    seen = json.loads(response(await run(job("network", body))).body)
    for attempt in ("tcp", "udp", "dns"):
        assert "error" in seen[attempt], (attempt, seen[attempt])
    assert canary.hits == []


async def test_a_javascript_component_runs() -> None:
    outcome = await run(job("js", token="unused"))
    # Its first import call traps: no host listens at the job's address.
    assert outcome.failure is not None
    assert outcome.failure.startswith("trap: host call"), outcome


async def test_a_wasi_http_request_never_leaves(canary: Canary) -> None:
    url = f"http://127.0.0.1:{canary.port}/"
    outcome = await run(job("js", url.encode(), url="/fetch"))
    assert outcome.response is None
    assert outcome.failure is not None
    assert outcome.failure.startswith("trap: "), outcome
    assert canary.hits == []


def test_a_forked_worker_still_stops_a_guest_at_its_deadline() -> None:
    # The parent ran jobs (its ticker thread is running); a fork has no threads.
    parent = run_job(job("noop"))
    assert parent.failure is None
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        # Should the deadline never pass, the child still ends (and the test fails).
        signal.alarm(60)
        outcome = run_job(job("spin", limits=ExecutionLimits(timeout_ms=200)))
        os.write(writer, (outcome.failure or "none").encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        assert answer.read() == "timeout"
    assert os.waitpid(child, 0)[1] == 0, "the child was stopped by its alarm"
