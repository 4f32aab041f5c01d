"""The runner remembers an install and its version briefly (`target_cache`), and
still runs every execution on the install's current state: each gets a fresh
install token, minted by the host from the install as stored, and a token naming
another version than the remembered one makes the runner look the install up again.
Over the wire: the real host, the registry fake counting its lookups, a gRPC handler."""

from __future__ import annotations

import base64
import json

import grpc
import pytest
from host_support import ADMIN_TOKEN

from extplane.runner.handler_metadata import INSTALL_TOKEN_KEY
from extplane.runner.target_cache import TargetCache, token_names
from extplane_client import InstallsClient
from tests.runner.runner_support import World, body_json


async def test_repeated_executions_look_the_version_up_once_with_a_fresh_token_each(
    world: World,
) -> None:
    await world.install("acme", "inst-1")

    for _ in range(3):
        response, _ = await world.execute("inst-1")
        assert response.status == 201

    assert world.registry.calls["GetExtensionVersion"] == 1
    tokens = [metadata[INSTALL_TOKEN_KEY] for _, metadata in world.handler.calls]
    assert len(set(tokens)) == 3


async def test_a_version_switch_runs_the_new_version_at_the_next_execution(world: World) -> None:
    world.registry.add_grpc("com.example.echo", "2.0.0", world.handler_address)
    await world.install("acme", "inst-1")
    first, _ = await world.execute("inst-1")
    assert body_json(first)["context"]["version_id"] == "1.0.0"

    async with InstallsClient(world.host.address, token=ADMIN_TOKEN) as admin:
        await admin.update_install(tenant="acme", install_id="inst-1", revision=1, version="2.0.0")
    second, _ = await world.execute("inst-1")

    seen = body_json(second)
    assert seen["context"]["version_id"] == "2.0.0"
    assert seen["host_context"]["version_id"] == "2.0.0"
    assert world.registry.calls["GetExtensionVersion"] == 2


async def test_an_install_disabled_after_an_execution_is_not_found_at_the_next(
    world: World,
) -> None:
    await world.install("acme", "inst-1")
    await world.execute("inst-1")
    await world.disable("acme", "inst-1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-1")

    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    assert len(world.handler.calls) == 1


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_its_ttl_only() -> None:
    clock = _Clock()
    cache: TargetCache[str] = TargetCache(ttl_s=2.0, clock=clock)
    cache.put("acme", "inst-1", "target")

    clock.now += 1.9
    assert cache.get("acme", "inst-1") == "target"
    assert cache.get("globex", "inst-1") is None
    clock.now += 0.1
    assert cache.get("acme", "inst-1") is None
    assert len(cache) == 0


def test_the_oldest_entries_go_first_beyond_the_capacity_and_a_zero_ttl_keeps_nothing() -> None:
    cache: TargetCache[int] = TargetCache(capacity=2)
    for number in range(3):
        cache.put("acme", f"inst-{number}", number)
    assert [cache.get("acme", f"inst-{n}") for n in range(3)] == [None, 1, 2]
    cache.forget("acme", "inst-2")
    assert cache.get("acme", "inst-2") is None

    off: TargetCache[int] = TargetCache(ttl_s=0)
    off.put("acme", "inst-1", 1)
    assert off.get("acme", "inst-1") is None
    with pytest.raises(ValueError, match="capacity"):
        TargetCache(capacity=0)


def _token(payload: object) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"header.{body}.signature"


def test_token_names_reads_the_extension_and_version_or_nothing() -> None:
    assert token_names(_token({"extension": "com.example.a", "version": "1.2.3"})) == (
        "com.example.a",
        "1.2.3",
    )
    assert token_names(_token({"extension": "com.example.a"})) == ("com.example.a", "")
    for broken in ("", "a.b", "a.!!!.c", _token([1]), _token({"version": "1"})):
        assert token_names(broken) is None
