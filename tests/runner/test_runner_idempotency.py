"""Idempotency keys: scoped to tenant + install, replayed not re-executed, concurrent
duplicates wait for the first, bounded and expiring."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
import pytest

from extplane.runner.idempotency import IdempotencyStore, IdempotencyStoreFullError
from extplane.runner.servicer import REPLAYED_KEY, REQUEST_ID_KEY
from extplane.runtime import InvalidRequestError
from extplane_protos.alga.extension.v1 import types_pb2
from tests.adapter.sinks import WAIT_S
from tests.runner.runner_support import ACME_TOKEN, GLOBEX_TOKEN, World

KEY = (("idempotency-key", "order-7"),)


async def until(condition: Callable[[], bool], *, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {WAIT_S} s")
        await asyncio.sleep(0.005)


ACME = {"Authorization": f"Bearer {ACME_TOKEN}"}


async def test_a_retry_with_the_key_is_the_first_answer_not_a_second_execution(
    world: World,
) -> None:
    await world.install("acme", "inst-1")

    first, first_meta = await world.execute("inst-1", metadata=KEY)
    again, again_meta = await world.execute("inst-1", metadata=KEY)

    assert len(world.handler.calls) == 1
    assert again == first
    assert again_meta[REQUEST_ID_KEY] == first_meta[REQUEST_ID_KEY]
    assert again_meta[REPLAYED_KEY] == "true"
    assert REPLAYED_KEY not in first_meta


async def test_the_same_key_from_another_tenant_is_another_key(world: World) -> None:
    await world.install("acme", "inst-1")
    await world.install("globex", "inst-1")

    acme, _ = await world.execute("inst-1", metadata=KEY)
    globex, globex_meta = await world.execute("inst-1", token=GLOBEX_TOKEN, metadata=KEY)

    assert len(world.handler.calls) == 2
    assert REPLAYED_KEY not in globex_meta
    assert b'"tenant_id": "globex"' in globex.body
    assert b'"tenant_id": "acme"' in acme.body


async def test_the_same_key_for_another_install_is_another_key(world: World) -> None:
    await world.install("acme", "inst-1")
    await world.install("acme", "inst-2")

    await world.execute("inst-1", metadata=KEY)
    _, second = await world.execute("inst-2", metadata=KEY)

    assert len(world.handler.calls) == 2
    assert REPLAYED_KEY not in second


async def test_concurrent_duplicates_wait_for_the_first_and_get_its_answer(world: World) -> None:
    await world.install("acme", "inst-1")
    world.handler.gate.clear()

    first = asyncio.ensure_future(world.execute("inst-1", metadata=KEY))
    await world.handler.entered.wait()
    duplicates = [asyncio.ensure_future(world.execute("inst-1", metadata=KEY)) for _ in range(3)]
    # Every duplicate waits in the store before the first one ends.
    await until(lambda: world.runner.idempotency.waiting == 3, what="3 waiting duplicates")
    world.handler.gate.set()
    answers = await asyncio.gather(first, *duplicates)

    assert len(world.handler.calls) == 1
    assert {answer.SerializeToString() for answer, _ in answers} == {
        answers[0][0].SerializeToString()
    }


async def test_a_key_reused_for_a_different_request_is_refused(world: World) -> None:
    await world.install("acme", "inst-1")
    await world.execute("inst-1", metadata=KEY)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute(
            "inst-1", metadata=KEY, http=types_pb2.HttpRequest(method="DELETE", url="/")
        )

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith("idempotency-key:")


async def test_a_malformed_key_is_refused_naming_it(world: World) -> None:
    await world.install("acme", "inst-1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-1", metadata=(("idempotency-key", "has space"),))

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith("idempotency-key:")


async def test_through_the_gateway_the_header_replays(world: World) -> None:
    await world.install("acme", "inst-1")
    headers = {**ACME, "Idempotency-Key": "pay-1"}

    first = await world.http.post("/v1/extensions/inst-1/pay", headers=headers, content=b"1")
    again = await world.http.post("/v1/extensions/inst-1/pay", headers=headers, content=b"1")

    assert len(world.handler.calls) == 1
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    names = {name for name, _ in first.json()["headers"]}
    assert "idempotency-key" not in names


async def test_a_failed_execution_is_not_kept_so_a_retry_executes_again(world: World) -> None:
    await world.install("acme", "inst-1")
    world.handler.fail_with = grpc.StatusCode.INTERNAL
    with pytest.raises(grpc.aio.AioRpcError):
        await world.execute("inst-1", metadata=KEY)
    world.handler.fail_with = None

    answer, meta = await world.execute("inst-1", metadata=KEY)

    assert answer.status == 201
    assert REPLAYED_KEY not in meta
    assert len(world.handler.calls) == 2


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _answer(value: str) -> str:
    return value


async def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    store: IdempotencyStore[str] = IdempotencyStore(ttl_s=10, capacity=10, clock=clock)

    assert await store.run(("t", "i", "k"), "same", lambda: _answer("first")) == ("first", False)
    clock.now = 9.9
    assert await store.run(("t", "i", "k"), "same", lambda: _answer("second")) == ("first", True)
    clock.now = 10.0
    assert await store.run(("t", "i", "k"), "same", lambda: _answer("third")) == ("third", False)


async def test_the_store_is_bounded_and_sheds_the_oldest_finished_first() -> None:
    store: IdempotencyStore[str] = IdempotencyStore(ttl_s=100, capacity=2, clock=Clock())
    release = asyncio.Event()

    async def held() -> str:
        await release.wait()
        return "held"

    running = asyncio.ensure_future(store.run(("t", "i", "running"), "d", held))
    await asyncio.sleep(0)
    await store.run(("t", "i", "a"), "d", lambda: _answer("a"))
    await store.run(("t", "i", "b"), "d", lambda: _answer("b"))  # sheds "a", not "running"

    assert len(store) == 2
    assert await store.run(("t", "i", "a"), "d", lambda: _answer("a2")) == ("a2", False)
    release.set()
    assert await running == ("held", False)


async def test_a_store_full_of_running_executions_refuses() -> None:
    store: IdempotencyStore[str] = IdempotencyStore(ttl_s=100, capacity=1, clock=Clock())
    release = asyncio.Event()

    async def held() -> str:
        await release.wait()
        return "held"

    running = asyncio.ensure_future(store.run(("t", "i", "one"), "d", held))
    await asyncio.sleep(0)
    with pytest.raises(IdempotencyStoreFullError):
        await store.run(("t", "i", "two"), "d", lambda: _answer("two"))
    release.set()
    await running


def test_invalid_request_names_the_key() -> None:
    from extplane.runner.idempotency import checked_key

    with pytest.raises(InvalidRequestError) as refused:
        checked_key("")
    assert refused.value.violations[0].field == "idempotency-key"
