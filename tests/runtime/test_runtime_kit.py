"""The service kit's small pieces: the serving state, the retention loop, metric
families once per registry, the page token key in the data directory."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from extplane.errors import NotServingError, StartupError
from extplane.gateway.metrics import GatewayMetrics
from extplane.runtime import once_per_registry
from extplane.runtime.kit import PAGE_TOKEN_KEY_FILE, ServiceKit, page_token_key_bytes
from extplane.runtime.retention import RetentionLoop
from extplane.runtime.serving import Serving


def test_serving_answers_what_is_open_and_refuses_otherwise() -> None:
    serving: Serving[str] = Serving("things")
    with pytest.raises(NotServingError, match="the things service is not serving"):
        _ = serving.current

    serving.open("store")
    assert serving.is_open
    assert serving.current == "store"
    assert serving.close() == "store"
    assert serving.close() is None
    with pytest.raises(NotServingError):
        _ = serving.current


async def test_the_retention_loop_prunes_at_start_then_every_interval_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []

    async def prune_once() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise OSError("disk gone")

    loop = RetentionLoop("things", prune_once, interval_s=0.02)
    await loop.start()
    await loop.start()  # a second start is a no-op, not a second loop
    for _ in range(200):
        if len(rounds) >= 4:
            break
        await asyncio.sleep(0.01)
    await loop.stop()
    stopped_at = len(rounds)
    await asyncio.sleep(0.06)

    assert stopped_at >= 4
    assert len(rounds) == stopped_at  # nothing runs after stop
    assert rounds == list(range(stopped_at))  # one loop: rounds strictly in turn
    assert "things retention failed" in caplog.text


def test_families_are_registered_once_per_registry() -> None:
    built: list[CollectorRegistry] = []

    @once_per_registry
    def families(registry: CollectorRegistry) -> Counter:
        built.append(registry)
        return Counter("kit_test_things", "Things.", registry=registry)

    one, two = CollectorRegistry(), CollectorRegistry()
    assert families(one) is families(one)
    assert families(two) is not families(one)
    assert built == [one, two]


def test_two_gateways_share_one_registry() -> None:
    registry = CollectorRegistry()
    first, second = GatewayMetrics(registry), GatewayMetrics(registry)
    first.observe("/v1/x", "GET", 200, 0.01)
    second.observe("/v1/x", "GET", 200, 0.01)

    labels = {"route": "/v1/x", "http_method": "GET", "http_status": "200"}
    assert registry.get_sample_value("extplane_gateway_requests_total", labels) == 2


def test_the_page_token_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = page_token_key_bytes(None, tmp_path / "data")
    again = page_token_key_bytes(None, tmp_path / "data")

    path = tmp_path / "data" / PAGE_TOKEN_KEY_FILE
    assert first == again
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_configured_key_wins_and_touches_no_file(tmp_path: Path) -> None:
    key = page_token_key_bytes(SecretStr("c" * 32), tmp_path)
    assert key == b"c" * 32
    assert not (tmp_path / PAGE_TOKEN_KEY_FILE).exists()


def test_a_short_key_file_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / PAGE_TOKEN_KEY_FILE).write_text("short")
    kit = ServiceKit.for_directory(tmp_path)
    with pytest.raises(StartupError, match="shorter than 32"):
        _ = kit.page_tokens


def test_the_key_is_not_touched_until_page_tokens_are_used(tmp_path: Path) -> None:
    kit = ServiceKit.for_directory(tmp_path / "data")
    assert not (tmp_path / "data").exists()
    _ = kit.page_tokens
    assert (tmp_path / "data" / PAGE_TOKEN_KEY_FILE).exists()


def test_kits_of_one_directory_read_each_others_page_tokens(tmp_path: Path) -> None:
    issued = ServiceKit.for_directory(tmp_path).page_tokens.issue("x", [], (1,))
    assert ServiceKit.for_directory(tmp_path).page_tokens.read(issued, "x", [], 1) == (1,)
