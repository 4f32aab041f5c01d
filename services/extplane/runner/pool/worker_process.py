"""The pool's end of one worker process: its pipe and its exit, watched on the
event loop (no thread per worker), and the job it is running.

The pipe and the process sentinel are registered with `loop.add_reader`, so a
reply or a death wakes the loop directly. A death is reported once, after any
reply the worker sent before dying has been read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from extplane.runner.pool import worker_main

Message = tuple[Any, ...]


@dataclass(eq=False)
class Pending:
    """A job on its way through the pool: its pickled bytes and its caller's future."""

    payload: bytes
    future: asyncio.Future[Any]
    hard_deadline_s: float


@dataclass(eq=False)
class Running:
    """The job a worker holds, since when (loop time), and its hard-deadline timer."""

    pending: Pending
    started: float
    deadline_timer: asyncio.TimerHandle
    # Set when the pool killed the worker on purpose: the caller's error message.
    lost_reason: str | None = field(default=None)


class WorkerProcess:
    """One worker: `starting` until it reports ready, then `idle`/`busy`; `gone` once reaped."""

    def __init__(
        self,
        context: BaseContext,
        target: str,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[WorkerProcess, Message], None],
        on_exit: Callable[[WorkerProcess, str], None],
    ) -> None:
        self._loop = loop
        self._on_message = on_message
        self._on_exit = on_exit
        self.state = "starting"
        self.running: Running | None = None
        self.start_failure: str | None = None
        self.killed_at_deadline = False
        ours, theirs = context.Pipe(duplex=True)
        self._conn: Connection = ours
        # With `spawn` the worker's parent is this process, which it dies with;
        # with `forkserver` it is the fork server (which exits when we do).
        parent = os.getpid() if context.get_start_method() == "spawn" else None
        self._process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=worker_main.serve,
            args=(target, theirs, parent),
            name=f"extplane-pool-worker:{target}",
            daemon=True,
        )
        try:
            self._process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            # Only the worker holds its end now: its death reads as EOF here.
            theirs.close()
        pid = self._process.pid
        assert pid is not None
        self.pid: int = pid
        self._sentinel = self._process.sentinel
        loop.add_reader(self._conn.fileno(), self._readable)
        loop.add_reader(self._sentinel, self._exited)
        self._reading = True

    def send(self, payload: bytes) -> bool:
        """Hand the worker a job (or b"": stop); False when the worker is already dead."""
        try:
            self._conn.send_bytes(payload)
        except OSError:
            return False
        return True

    def kill(self) -> None:
        if self.state != "gone":
            # OSError: it is already dead (the sentinel reports it).
            with contextlib.suppress(OSError):
                self._process.kill()

    def _stop_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._conn.fileno())
            self._reading = False

    def _readable(self) -> None:
        try:
            data = self._conn.recv_bytes()
        except (EOFError, OSError):
            # The worker closed its end: it is dying or broken; the sentinel reports it.
            self._stop_reading()
            self.kill()
            return
        self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        try:
            message = pickle.loads(data)
        except Exception as error:  # the reply fails its job, the worker lives
            message = (
                "failed",
                "UnpicklingError",
                f"the worker's reply could not be read: {error}",
                "",
            )
        self._on_message(self, message)

    def _exited(self) -> None:
        self._loop.remove_reader(self._sentinel)
        # A reply sent just before the exit is still in the pipe: read it first.
        while self._reading:
            try:
                if not self._conn.poll():
                    break
                data = self._conn.recv_bytes()
            except (EOFError, OSError):
                break
            self._deliver(data)
        self._stop_reading()
        self._process.join()
        cause = _exit_cause(self._process.exitcode)
        self._conn.close()
        self._process.close()
        self.state = "gone"
        self._on_exit(self, cause)


def _exit_cause(exitcode: int | None) -> str:
    if exitcode is None:
        return "it exited"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"
