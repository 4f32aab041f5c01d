"""The worker process: import the target once, then run one job at a time until
told to stop or the pool's end of the pipe closes.

Every message is pickled here, not by `Connection.send`, so a result or an
exception that does not pickle becomes a failure of that job instead of a
dead worker. The pool's messages are a pickled job, or empty bytes: stop.
Ours are tuples: ("ready",), ("start_failed", text), ("done", result) and
("failed", kind, message, traceback).
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any

from extplane.runner.pool.target import load_target

_PR_SET_PDEATHSIG = 1


def serve(target: str, conn: Connection, parent_pid: int | None) -> None:
    """Process entry: the pool started this process with `spawn`/`forkserver`."""
    # Ctrl-C reaches the whole process group; the pool's process decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    try:
        function = load_target(target)
    except BaseException as error:  # reported to the pool, which refuses to start
        _send(conn, ("start_failed", f"{target}: {type(error).__name__}: {error}"))
        return
    _send(conn, ("ready",))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the pool is gone
        if not data:
            return
        _send(conn, _run_one(function, data))


def _run_one(function: Any, data: bytes) -> tuple[object, ...]:
    try:
        job = pickle.loads(data)
    except Exception as error:  # the job's failure, not the worker's
        return _failure(error, "the job could not be unpickled in the worker: ")
    try:
        return ("done", function(job))
    except Exception as error:  # answered to the caller; the worker lives on
        return _failure(error)


def _failure(error: BaseException, prefix: str = "") -> tuple[str, str, str, str]:
    text = "".join(traceback.format_exception(error))
    return ("failed", type(error).__qualname__, prefix + str(error), text)


def _send(conn: Connection, message: tuple[object, ...]) -> None:
    try:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an unpicklable result fails its job alone
        data = pickle.dumps(_failure(error, "the job's result could not be pickled: "))
    try:
        conn.send_bytes(data)
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(0)  # the pool is gone; nobody is left to answer


def _die_with_parent(parent_pid: int) -> None:
    """Linux: be killed when the pool's process dies, even if it dies by SIGKILL and
    never stops us (otherwise a worker stuck in a job would outlive it)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    # The parent may have died before the prctl took effect.
    if os.getppid() != parent_pid:
        os._exit(0)
