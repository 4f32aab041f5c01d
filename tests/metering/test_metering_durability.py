"""kill -9 durability: every acknowledged event survives a SIGKILL of the real
`extplane serve metering` process, on both stores.

The process is killed the moment the last acknowledgement arrives (and, in the
second test, while calls are still in flight); after a restart on the same
store, the service holds exactly the acknowledged events — none lost, none
doubled — and at most those that were sent but not yet answered.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from metering_support import READER_TOKEN, event, q

from extplane_protos.orloj.extensions.v1 import (
    metering_pb2,
    metering_pb2_grpc,
    metering_query_pb2_grpc,
)
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

UNARY = 100
BATCHES = 20
BATCH_SIZE = 10
N = UNARY + BATCHES * BATCH_SIZE  # 300


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    tokens = [{"name": "test", "token": READER_TOKEN, "roles": ["metering.reader"]}]
    return ephemeral_env(
        tmp_path,
        {
            "EXTPLANE_METERING__PORT": "0",
            "EXTPLANE_METERING__DATABASE_URL": database_url,
            "EXTPLANE_AUTH__TOKENS": json.dumps(tokens),
            "EXTPLANE_AUTH__ALLOW_UNAUTHENTICATED_INGEST": "true",
            "EXTPLANE_LOGGING__LEVEL": "WARNING",
        },
    )


def _start(env: dict[str, str], cli_processes: list[RunningCli]) -> RunningCli:
    running = start_cli(["serve", "metering"], env, expect={"metering"})
    cli_processes.append(running)
    return running


def _kill(running: RunningCli) -> None:
    running.process.send_signal(signal.SIGKILL)
    assert running.process.wait(timeout=10) == -signal.SIGKILL


@pytest.fixture
def cli_processes() -> Iterator[list[RunningCli]]:
    started: list[RunningCli] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


async def _send_all(
    target: str, acked: list[str], sent: list[str], third: asyncio.Event | None = None
) -> None:
    """N events, concurrently: 100 unary calls and 20 batches of 10, each id once.

    `third` is set once a third of them are acknowledged.
    """

    def acknowledged(ids: list[str]) -> None:
        acked.extend(ids)
        if third is not None and len(acked) >= N // 3:
            third.set()

    async with grpc.aio.insecure_channel(target) as channel:
        sink = metering_pb2_grpc.MeteringSinkStub(channel)

        async def unary(i: int) -> None:
            one = event(event_id=f"u{i}", tokens_in=i)
            sent.append(one.event_id)
            await sink.RecordMetering(metering_pb2.RecordMeteringRequest(event=one), timeout=30)
            acknowledged([one.event_id])

        async def batch(k: int) -> None:
            events = [event(event_id=f"b{k}-{i}", tokens_in=1) for i in range(BATCH_SIZE)]
            sent.extend(e.event_id for e in events)
            answer = await sink.RecordMeteringBatch(
                metering_pb2.RecordMeteringBatchRequest(events=events), timeout=30
            )
            assert answer.accepted == BATCH_SIZE
            acknowledged([e.event_id for e in events])

        await asyncio.gather(*(unary(i) for i in range(UNARY)), *(batch(k) for k in range(BATCHES)))


async def _stored_ids(target: str) -> list[str]:
    metadata = (("authorization", f"Bearer {READER_TOKEN}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        query = metering_query_pb2_grpc.MeteringQueryServiceStub(channel)
        ids: list[str] = []
        token = ""
        while True:
            page = await query.ListMeteringEvents(
                q.ListMeteringEventsRequest(page_size=1000, page_token=token),
                metadata=metadata,
                timeout=30,
            )
            ids += [e.event.event_id for e in page.events]
            token = page.next_page_token
            if not token:
                return ids


async def _usage_events(target: str) -> int:
    metadata = (("authorization", f"Bearer {READER_TOKEN}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        query = metering_query_pb2_grpc.MeteringQueryServiceStub(channel)
        usage = await query.GetUsage(
            q.GetUsageRequest(start_time={"seconds": 0}), metadata=metadata, timeout=30
        )
    return usage.total.events


async def test_every_acknowledged_event_survives_kill_9(
    tmp_path: Path, database_url: str, cli_processes: list[RunningCli]
) -> None:
    env = _env(tmp_path, database_url)
    first = _start(env, cli_processes)
    acked: list[str] = []

    await _send_all(first.grpc_target("metering"), acked, [])
    _kill(first)  # right after the last acknowledgement
    second = _start(env, cli_processes)
    stored = await _stored_ids(second.grpc_target("metering"))
    total = await _usage_events(second.grpc_target("metering"))
    second.terminate()

    assert len(acked) == N
    assert sorted(stored) == sorted(acked)
    assert total == N


async def test_a_kill_mid_stream_keeps_the_acknowledged_and_doubles_nothing(
    tmp_path: Path, database_url: str, cli_processes: list[RunningCli]
) -> None:
    env = _env(tmp_path, database_url)
    first = _start(env, cli_processes)
    acked: list[str] = []
    sent: list[str] = []
    third = asyncio.Event()
    sending = asyncio.ensure_future(_send_all(first.grpc_target("metering"), acked, sent, third))
    await asyncio.wait_for(third.wait(), timeout=60)

    _kill(first)  # with calls still in flight
    await asyncio.gather(sending, return_exceptions=True)
    second = _start(env, cli_processes)
    stored = await _stored_ids(second.grpc_target("metering"))
    second.terminate()

    assert len(stored) == len(set(stored))
    assert set(acked) <= set(stored) <= set(sent)
