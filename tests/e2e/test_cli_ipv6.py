"""`extplane up` bound to the IPv6 loopback: every address it prints and dials works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

IPV6_LOOPBACK = {"EXTPLANE_HOST": "::1", "EXTPLANE_METRICS__HOST": "::1"}


def test_up_on_ipv6_loopback_prints_bracketed_addresses_and_routes_through_them(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    env = ephemeral_env(tmp_path, IPV6_LOOPBACK)
    suite = start_cli(["up"], env, {"gateway", "capabilities", "metering", "audit", "metrics"})
    cli_processes.append(suite)
    for name, address in suite.addresses.items():
        assert urlsplit(address).hostname == "::1", (name, address)
        assert "://[::1]:" in address, (name, address)

    # The gateway dials its upstreams at addresses the suite built: with brackets.
    response = httpx.get(f"{suite.http_base()}/v1/capabilities", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["features"]["capabilities"] is True
    assert httpx.get(f"{suite.http_base()}/upstreamz", timeout=30).json()["status"] == "ready"

    for name in ("capabilities", "metering", "audit"):
        with grpc.insecure_channel(suite.grpc_target(name)) as channel:
            check = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=10
            )
            assert check.status == health_pb2.HealthCheckResponse.SERVING, name
    assert httpx.get(suite.addresses["metrics"], timeout=30).status_code == 200

    # With no --address, `extplane capabilities` dials the configured host and port.
    port = urlsplit(suite.addresses["capabilities"]).port
    printed = subprocess.run(
        [sys.executable, "-m", "extplane.cli", "capabilities"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "EXTPLANE_CAPABILITIES__PORT": str(port)},
        check=True,
    )
    assert json.loads(printed.stdout)["features"] == response.json()["features"]
    assert suite.terminate() == 0
