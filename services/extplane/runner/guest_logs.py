"""What a component wrote to stdout and stderr, into the logging provider.

wasmtime captures a guest's WASI output to per-execution files (the worker
reads them back as bounded lines, `WasmOutcome.guest_output`); the runner hands
them to the host's `LoggingService` as the install, with the execution's own
install token, so they land where the extension's `logging.*` records do
(`extplane logs`) and under the same per-install rate limit. An install not
granted `cap:log.emit` gets nothing forwarded (it was not granted logs; the
host would refuse and audit every line): those lines are counted, not sent.

Forwarding never delays or fails the execution: it runs in the background,
at most `max_in_flight` executions' output at a time; beyond that, and when
the host refuses or is down, the lines are counted and dropped (DESIGN §6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from prometheus_client import CollectorRegistry, Counter

from extplane.host.capability_names import required_capabilities
from extplane.host.enforcement import TOKEN_METADATA_KEY
from extplane.runtime import once_per_registry
from extplane_protos.alga.extension.v1 import logging_pb2, logging_pb2_grpc

# One record holds at most this much output (lines joined), so a chatty guest
# costs a few records, not one call per line; under the provider's 4,096-byte
# message bound for most text.
RECORD_CHARS = 3000
PREFIX = "[guest output] "
_logger = logging.getLogger(__name__)


@once_per_registry
def _lines_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "extplane_runner_guest_output_lines_total",
        "Lines components wrote to stdout/stderr, by what became of them: forwarded to "
        "the logging provider, not_granted (no cap:log.emit), dropped (too many in "
        "flight) or failed (the host refused or was unreachable).",
        ["result"],
        registry=registry,
    )


def _log_capability() -> str:
    return required_capabilities()[
        logging_pb2.DESCRIPTOR.services_by_name["LoggingService"].full_name
    ]


def records(lines: Sequence[str]) -> list[str]:
    """The lines as log records of at most RECORD_CHARS each (a longer line alone)."""
    out: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > RECORD_CHARS:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return [PREFIX + record for record in out]


class GuestLogs:
    def __init__(
        self,
        host: grpc.aio.Channel,
        registry: CollectorRegistry | None = None,
        *,
        max_in_flight: int = 64,
        call_timeout_s: float = 5.0,
    ) -> None:
        self._logging = logging_pb2_grpc.LoggingServiceStub(host)
        self._lines = _lines_counter(registry if registry is not None else CollectorRegistry())
        self._max_in_flight = max_in_flight
        self._timeout_s = call_timeout_s
        self._tasks: set[asyncio.Task[None]] = set()

    def forward(self, lines: Sequence[str], token: str, granted: Sequence[str]) -> None:
        if not lines:
            return
        if _log_capability() not in granted:
            self._lines.labels("not_granted").inc(len(lines))
            return
        if len(self._tasks) >= self._max_in_flight:
            self._lines.labels("dropped").inc(len(lines))
            return
        task = asyncio.get_running_loop().create_task(self._send(tuple(lines), token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, lines: tuple[str, ...], token: str) -> None:
        metadata = ((TOKEN_METADATA_KEY, token),)
        try:
            for record in records(lines):
                await self._logging.Info(
                    logging_pb2.LoggingServiceInfoRequest(message=record),
                    metadata=metadata,
                    timeout=self._timeout_s,
                )
        except grpc.aio.AioRpcError as error:
            self._lines.labels("failed").inc(len(lines))
            _logger.debug("guest output not forwarded: %s", error.code().name)
            return
        self._lines.labels("forwarded").inc(len(lines))

    async def drain(self, timeout_s: float) -> None:
        """Wait (at most `timeout_s`) for what is being forwarded, then give up on it."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=timeout_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
