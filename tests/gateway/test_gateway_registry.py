"""Bindings come from the descriptors' `google.api.http` options, never by hand."""

from __future__ import annotations

import logging

import pytest
from gateway_support import thing_bindings
from google.api import annotations_pb2, http_pb2, httpbody_pb2
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool

from extplane.gateway import BindingError, load_bindings
from extplane.gateway.registry import HttpBinding, bindings_for_files


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


def _file_with(
    rule: http_pb2.HttpRule, *, streaming: bool = False, client_streaming: bool = False
) -> list[HttpBinding]:
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
        client_streaming=client_streaming,
    )
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    return bindings_for_files([pool.AddSerializedFile(proto.SerializeToString())])


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


def test_server_streaming_rpcs_are_bound_and_client_streaming_ones_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (streamed,) = _file_with(http_pb2.HttpRule(get="/v1/x"), streaming=True)
    assert streamed.server_streaming
    assert not streamed.raw_body
    with caplog.at_level(logging.WARNING, logger="extplane.gateway.registry"):
        assert _file_with(http_pb2.HttpRule(post="/v1/x", body="*"), client_streaming=True) == []
        both = _file_with(
            http_pb2.HttpRule(post="/v1/x", body="*"), streaming=True, client_streaming=True
        )
        assert both == []
    assert "bad.v1.Bad.Do streams requests" in caplog.text


def test_the_audit_export_is_a_streamed_raw_download() -> None:
    by_path = {(b.http_method, b.template.source): b for b in load_bindings()}
    export = by_path[("GET", "/v1/audit/export")]
    assert export.rpc_path == "/orloj.extensions.v1.AuditQueryService/ExportAuditEvents"
    assert export.server_streaming
    assert export.raw_body
    assert not by_path[("GET", "/v1/audit/events")].server_streaming


def test_an_http_body_response_takes_no_response_body() -> None:
    with pytest.raises(BindingError, match="response_body has no use"):
        _raw_file_with(http_pb2.HttpRule(get="/v1/x", response_body="data"))


def _raw_file_with(rule: http_pb2.HttpRule) -> list[HttpBinding]:
    pool = descriptor_pool.DescriptorPool()
    for module in (descriptor_pb2, any_pb2, http_pb2, annotations_pb2, httpbody_pb2):
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    proto = descriptor_pb2.FileDescriptorProto(
        name="raw/v1/raw.proto",
        package="raw.v1",
        syntax="proto3",
        dependency=["google/api/annotations.proto", "google/api/httpbody.proto"],
    )
    proto.message_type.add(name="Msg")
    method = proto.service.add(name="Raw").method.add(
        name="Get", input_type=".raw.v1.Msg", output_type=".google.api.HttpBody"
    )
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    return bindings_for_files([pool.AddSerializedFile(proto.SerializeToString())])
