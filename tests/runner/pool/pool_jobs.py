"""Job functions the pool tests run in worker processes (imported there by name:
`pool_jobs:<function>`), and the shapes of their jobs."""

from __future__ import annotations

import ctypes
import hashlib
import os
import socket
import threading
from dataclasses import dataclass

from extplane.runner.jobs import WasmJob, WasmOutcome

# A worker started while this is set fails to import this module, as after a
# deploy that broke the workers' imports for a while.
FAIL_IMPORT_VARIABLE = "POOL_JOBS_FAIL_IMPORT"
if os.environ.get(FAIL_IMPORT_VARIABLE):
    raise ImportError(f"{FAIL_IMPORT_VARIABLE} is set")

# Per worker: how many jobs this process has run (a worker keeps its state).
_jobs_run = 0


def echo(job: object) -> object:
    return job


def pid_and_count(job: object) -> tuple[int, int]:
    global _jobs_run
    _jobs_run += 1
    return os.getpid(), _jobs_run


def raise_value_error(job: str) -> None:
    raise ValueError(job)


def unpicklable_result(job: object) -> object:
    return lambda: job


def outcome_of(job: WasmJob) -> WasmOutcome:
    """A stand-in for the wasm host's `run_job`: the shared shapes, both ways."""
    return WasmOutcome(
        response=job.request[::-1],
        host_calls=len(job.install_token),
        duration_ms=job.limits.timeout_ms,
        guest_output=(job.component_sha256, job.host_address),
    )


def hang(job: object) -> None:
    """Never returns: only a kill ends this worker's job."""
    threading.Event().wait()


@dataclass(frozen=True)
class Meet:
    """Spin the CPU for `rounds` hashes, then meet the other job at a FIFO: the
    writer's open blocks until a reader opens it and the reader's until a writer
    does, so a pair completes only when both run at the same time."""

    fifo: str
    role: str  # "write" or "read"
    rounds: int = 20_000


def meet(job: Meet) -> tuple[int, int, str]:
    """(this worker's pid, the other job's worker pid, the hash)."""
    digest = b"extplane"
    for _ in range(job.rounds):
        digest = hashlib.sha256(digest).digest()
    me = os.getpid()
    if job.role == "write":
        with open(job.fifo, "w") as fifo:
            fifo.write(f"{me}\n")
        with open(job.fifo + ".back") as back:
            other = int(back.readline())
    else:
        with open(job.fifo) as fifo:
            other = int(fifo.readline())
        with open(job.fifo + ".back", "w") as back:
            back.write(f"{me}\n")
    return me, other, digest.hex()


@dataclass(frozen=True)
class Checkpoint:
    """Connect to the test's Unix socket, say which pid runs the job, and do what
    the test answers: `return <text>`, `exit <status>`, `segfault`; no answer: wait."""

    socket_path: str


def checkpoint(job: Checkpoint) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(job.socket_path)
        connection.sendall(f"{os.getpid()}\n".encode())
        command = connection.makefile("r").readline().strip()
    verb, _, argument = command.partition(" ")
    if verb == "exit":
        os._exit(int(argument))
    if verb == "segfault":
        ctypes.string_at(0)
    if verb == "return":
        return argument
    raise RuntimeError(f"checkpoint: unknown command {command!r}")


@dataclass(frozen=True)
class Call:
    """One pool serves every test job: `call` runs the named function of this module."""

    function: str
    argument: object = None


_FUNCTIONS = {
    "echo": echo,
    "pid_and_count": pid_and_count,
    "raise_value_error": raise_value_error,
    "unpicklable_result": unpicklable_result,
    "hang": hang,
    "outcome_of": outcome_of,
    "meet": meet,
    "checkpoint": checkpoint,
}


def call(job: Call) -> object:
    return _FUNCTIONS[job.function](job.argument)  # type: ignore[operator]
