"""Server reflection: a standard reflection client discovers and calls the service."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from runtime_slow_service import SERVICE_NAME

from extplane.runtime.server import GrpcServer


def discover_and_call(address: str) -> dict[str, Any]:
    """What a tool such as grpcurl does, with no generated code: list, resolve, call."""
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName(SERVICE_NAME)
        method = service.FindMethodByName("Capabilities")
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        response = call(request_class(), timeout=30)
        return {
            "services": services,
            "file": pool.FindFileContainingSymbol(SERVICE_NAME).name,
            "response_type": response.DESCRIPTOR.full_name,
            "features": dict(response.snapshot.features),
        }


async def test_reflection_lists_resolves_and_calls_the_service(running: GrpcServer) -> None:
    found = await asyncio.to_thread(discover_and_call, running.address)

    assert found["services"] == {
        SERVICE_NAME,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert found["file"] == "orloj/extensions/v1/capabilities.proto"
    assert found["response_type"] == "orloj.extensions.v1.CapabilitiesResponse"
    assert found["features"] == {"slow": True}
