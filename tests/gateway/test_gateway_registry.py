"""Bindings come from the descriptors' `google.api.http` options, never by hand."""

from __future__ import annotations

import pytest
from gateway_support import thing_bindings
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from extplane.gateway import BindingError, load_bindings
from extplane.gateway.registry import bindings_for_files


def test_the_capabilities_rpc_is_found_by_walking_the_generated_package() -> None:
    by_path = {(b.http_method, b.template.source): b for b in load_bindings()}
    binding = by_path[("GET", "/v1/capabilities")]
    assert binding.rpc_path == "/orloj.extensions.v1.CapabilityProvider/Capabilities"
    assert binding.response_body == "snapshot"
    assert binding.operation_id == "CapabilityProvider_Capabilities"


def test_additional_bindings_become_routes_of_their_own() -> None:
    get_thing = [b for b in thing_bindings() if b.method.name == "GetThing"]
    assert [(b.binding_index, b.template.source) for b in get_thing] == [
        (0, "/v1/{name=things/*}"),
        (1, "/v1/shelves/{inner.label}/things/{name}"),
    ]


def _file_with(rule: http_pb2.HttpRule, *, streaming: bool = False) -> list[object]:
    pool = descriptor_pool.DescriptorPool()
    for module in (descriptor_pb2, http_pb2, annotations_pb2):
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    proto = descriptor_pb2.FileDescriptorProto(
        name="bad/v1/bad.proto",
        package="bad.v1",
        syntax="proto3",
        dependency=["google/api/annotations.proto"],
    )
    message = proto.message_type.add(name="Msg")
    message.field.add(name="id", number=1, type=9, label=1)
    message.field.add(name="ids", number=2, type=9, label=3)
    method = proto.service.add(name="Bad").method.add(
        name="Do",
        input_type=".bad.v1.Msg",
        output_type=".bad.v1.Msg",
        server_streaming=streaming,
    )
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    return bindings_for_files([pool.AddSerializedFile(proto.SerializeToString())])  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        (http_pb2.HttpRule(get="/v1/{nope}"), "has no field 'nope'"),
        (http_pb2.HttpRule(get="/v1/{ids}"), "must be a singular scalar"),
        (http_pb2.HttpRule(get="/v1/x", body="*"), "GET must not have a body"),
        (http_pb2.HttpRule(post="/v1/x", body="missing"), "not a top-level request field"),
        (http_pb2.HttpRule(get="/v1/x", response_body="nope"), "has no field 'nope'"),
        (http_pb2.HttpRule(get="v1/x"), "expected '/'"),
        (http_pb2.HttpRule(), "without a pattern"),
    ],
)
def test_an_unservable_annotation_fails_at_start(rule: http_pb2.HttpRule, why: str) -> None:
    with pytest.raises(BindingError, match=why):
        _file_with(rule)


def test_streaming_rpcs_are_skipped() -> None:
    assert _file_with(http_pb2.HttpRule(get="/v1/x"), streaming=True) == []
