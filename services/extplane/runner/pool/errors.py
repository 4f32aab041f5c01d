"""How the pool answers a job that produced no result, beside the shared
`PoolBusyError` and `WorkerLostError` of `extplane.runner.jobs`."""

from __future__ import annotations


class JobFailedError(Exception):
    """The target raised (or its job or result could not cross the process boundary).

    The worker survives a Python exception and serves the next job; the caller
    gets the exception's type name, message and the worker's traceback as text
    (plain strings, so any exception crosses the pipe, picklable or not).
    """

    def __init__(self, kind: str, message: str, remote_traceback: str = "") -> None:
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind = kind
        self.message = message
        self.remote_traceback = remote_traceback


class PoolStoppedError(Exception):
    """The pool is stopping or stopped: it takes no new job, and a job still
    queued when the drain's grace ran out is answered with this."""


class PoolStartError(Exception):
    """A worker could not start: its target failed to import (the message names it)."""
