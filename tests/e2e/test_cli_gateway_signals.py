"""`extplane serve gateway` on SIGTERM: a drain that a second signal cuts short."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx

from extplane.gateway.draining import SHUTTING_DOWN
from extplane_client.testing import serve_capability_provider
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

CAPABILITY_PROVIDER = "orloj.extensions.v1.CapabilityProvider"
WAIT_S = 30.0
# The grace period and the upstream's delay are far past every wait in the test:
# only a second signal ends the request in time.
GRACE_S = 600
FOREVER_S = 3600.0


async def _refusing_connections(port: int) -> None:
    """Returns once the port refuses connections: the drain has begun."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return
        writer.close()
        await writer.wait_closed()
        assert asyncio.get_running_loop().time() < deadline, "the gateway still accepts"
        await asyncio.sleep(0.01)


async def test_a_second_sigterm_cuts_the_gateway_drain_short(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    async with serve_capability_provider(features={"slow": True}, delay_s=FOREVER_S) as slow:
        env = ephemeral_env(
            tmp_path,
            {
                "EXTPLANE_GATEWAY__UPSTREAMS": json.dumps({CAPABILITY_PROVIDER: slow.address}),
                "EXTPLANE_SHUTDOWN_GRACE_S": str(GRACE_S),
            },
        )
        gateway = await asyncio.to_thread(start_cli, ["serve", "gateway"], env, {"gateway"})
        cli_processes.append(gateway)
        port = urlsplit(gateway.http_base()).port
        assert port is not None

        async with httpx.AsyncClient(timeout=WAIT_S) as client:
            in_flight = asyncio.create_task(client.get(f"{gateway.http_base()}/v1/capabilities"))
            await asyncio.wait_for(slow.provider.called.wait(), WAIT_S)
            gateway.process.send_signal(signal.SIGTERM)
            await _refusing_connections(port)
            assert not in_flight.done()
            gateway.process.send_signal(signal.SIGTERM)
            response = await in_flight

        assert await asyncio.to_thread(gateway.process.wait, WAIT_S) == 0
    assert response.status_code == 503
    assert response.json() == {
        "code": grpc.StatusCode.UNAVAILABLE.value[0],
        "message": SHUTTING_DOWN,
        "details": [],
    }
