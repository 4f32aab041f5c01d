"""What a started audit service has open, handed to its servicers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc

from extplane.audit.checkpoints import Checkpointer
from extplane.audit.recorder import Recorder
from extplane.audit.signing import CheckpointSigner
from extplane.audit.store import AuditStore


@dataclass(frozen=True)
class Running:
    store: AuditStore
    recorder: Recorder
    signer: CheckpointSigner
    checkpointer: Checkpointer


# None before start() has finished and after stop() began.
RunningSource = Callable[[], Running | None]


async def abort_not_running(context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
    await context.abort(grpc.StatusCode.UNAVAILABLE, "the audit service is not started")
    raise AssertionError("abort returned")  # pragma: no cover - it raises


async def running_or_abort(
    source: RunningSource, context: grpc.aio.ServicerContext[Any, Any]
) -> Running:
    running = source()
    if running is None:
        await abort_not_running(context)
    return running
