"""The `extplane` command end to end: as a user runs it, over real HTTP and gRPC."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import httpx
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from extplane import __version__
from extplane_client.testing import serve_capability_provider
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli
from tests.loopback import unused_port

CAPABILITY_PROVIDER = "orloj.extensions.v1.CapabilityProvider"


def test_up_serves_the_suite_and_stops_cleanly_on_sigterm(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    suite = start_cli(["up"], ephemeral_env(tmp_path), {"gateway", "capabilities", "metrics"})
    cli_processes.append(suite)

    response = httpx.get(f"{suite.http_base()}/v1/capabilities", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"features", "metadata"}
    assert body["features"]["capabilities"] is True
    assert body["features"]["gateway"] is True
    assert body["metadata"]["extplane.version"] == __version__
    # What an install can be granted and call here: every host interface built so far.
    assert body["metadata"]["extplane.host.capabilities"].split(",") == [
        "cap:client.read",
        "cap:context.read",
        "cap:http.fetch",
        "cap:log.emit",
        "cap:secrets.get",
        "cap:service.read",
        "cap:storage.kv",
        "cap:ui.proxy",
        "cap:user.read",
    ]

    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "extplane.cli",
            "capabilities",
            "--address",
            suite.grpc_target("capabilities"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(printed.stdout)["features"] == body["features"]

    metrics = httpx.get(suite.addresses["metrics"], timeout=10).text
    assert 'grpc_method="Capabilities"' in metrics

    assert suite.terminate() == 0


def test_every_grpc_service_answers_health_and_reflection(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    suite = start_cli(["up"], ephemeral_env(tmp_path), {"gateway", "capabilities"})
    cli_processes.append(suite)
    grpc_services = {n: a for n, a in suite.addresses.items() if a.startswith("grpc://")}
    assert grpc_services, suite.stdout_lines

    for name in grpc_services:
        with grpc.insecure_channel(suite.grpc_target(name)) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            overall = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
            assert overall.status == health_pb2.HealthCheckResponse.SERVING, name

            reflection = ProtoReflectionDescriptorDatabase(channel)
            listed = set(reflection.get_services())
            assert "grpc.health.v1.Health" in listed
            assert "grpc.reflection.v1alpha.ServerReflection" in listed
            served = (
                listed
                - {"grpc.health.v1.Health"}
                - {s for s in listed if s.startswith("grpc.reflection.")}
            )
            assert served, f"{name} serves nothing but health and reflection"
            for service in served:
                check = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert check.status == health_pb2.HealthCheckResponse.SERVING, service
    assert suite.terminate() == 0


def test_a_reflection_client_can_call_capabilities_without_stubs(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    suite = start_cli(["serve", "capabilities"], ephemeral_env(tmp_path), {"capabilities"})
    cli_processes.append(suite)
    assert "gateway" not in suite.addresses

    with grpc.insecure_channel(suite.grpc_target("capabilities")) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        method = pool.FindServiceByName(CAPABILITY_PROVIDER).FindMethodByName("Capabilities")
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{CAPABILITY_PROVIDER}/Capabilities",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        response = call(request_cls(), timeout=10)
        assert response.snapshot.features["capabilities"] is True
        assert response.snapshot.metadata["extplane.version"] == __version__
    assert suite.terminate() == 0


def test_gateway_alone_answers_503_with_a_status_body_when_capabilities_is_down(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    dead = unused_port()
    env = ephemeral_env(
        tmp_path,
        {"EXTPLANE_GATEWAY__UPSTREAMS": json.dumps({CAPABILITY_PROVIDER: f"127.0.0.1:{dead}"})},
    )
    gateway = start_cli(["serve", "gateway"], env, {"gateway"})
    cli_processes.append(gateway)

    response = httpx.get(f"{gateway.http_base()}/v1/capabilities", timeout=30)
    assert response.status_code == 503
    status = response.json()
    assert status["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert status["message"]
    # The upstream's health is reported, but the gateway itself stays ready.
    assert httpx.get(f"{gateway.http_base()}/upstreamz", timeout=30).status_code == 503
    assert httpx.get(f"{gateway.http_base()}/readyz", timeout=30).status_code == 200
    assert httpx.get(f"{gateway.http_base()}/healthz", timeout=30).status_code == 200
    assert gateway.terminate() == 0


def test_bad_configuration_fails_at_start_naming_the_field(tmp_path: Path) -> None:
    env = ephemeral_env(tmp_path, {"EXTPLANE_CAPABILITIES__PORT": "not-a-port"})
    result = subprocess.run(
        [sys.executable, "-m", "extplane.cli", "up"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "capabilities.port" in result.stderr


def test_capabilities_command_reports_an_unreachable_service(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "extplane.cli",
            "capabilities",
            "--address",
            f"127.0.0.1:{unused_port()}",
            "--timeout",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=ephemeral_env(tmp_path),
    )
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr or "unavailable" in result.stderr


async def test_sigterm_lets_a_request_in_flight_through_the_gateway_finish(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    async with serve_capability_provider(features={"slow.feature": True}, delay_s=1.5) as slow:
        providers = [{"name": "slow", "address": slow.address, "timeout_s": 10}]
        env = ephemeral_env(
            tmp_path,
            {
                "EXTPLANE_CAPABILITIES__PROVIDERS": json.dumps(providers),
                "EXTPLANE_SHUTDOWN_GRACE_S": "20",
            },
        )
        suite = await asyncio.to_thread(start_cli, ["up"], env, {"gateway", "capabilities"})
        cli_processes.append(suite)

        async with httpx.AsyncClient(timeout=30) as client:
            in_flight = asyncio.create_task(client.get(f"{suite.http_base()}/v1/capabilities"))
            await asyncio.wait_for(slow.provider.called.wait(), timeout=30)
            suite.process.send_signal(signal.SIGTERM)
            response = await in_flight

        assert response.status_code == 200
        assert response.json()["features"]["slow.feature"] is True
        assert await asyncio.to_thread(suite.process.wait, 30) == 0
