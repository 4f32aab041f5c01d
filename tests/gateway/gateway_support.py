"""A test-only proto service, built as a FileDescriptorProto in a private pool.

It exercises every transcoding rule the real contracts do not use yet: path
variables with patterns and nested fields, `**`, verbs, body "*" and a body
field, response_body, query parameters of every kind, additional bindings, a
server-streaming RPC of plain messages (NDJSON) and a unary HttpBody answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
from google.api import annotations_pb2, field_behavior_pb2, http_pb2, httpbody_pb2
from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    field_mask_pb2,
    message_factory,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message

from extplane.gateway.registry import HttpBinding, bindings_for_files

PACKAGE = "test.gateway.v1"
SERVICE = f"{PACKAGE}.ThingService"

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL = _F.LABEL_OPTIONAL
_REPEATED = _F.LABEL_REPEATED


def _field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    kind: int,
    *,
    type_name: str = "",
    repeated: bool = False,
) -> descriptor_pb2.FieldDescriptorProto:
    field = message.field.add(
        name=name, number=number, type=kind, label=_REPEATED if repeated else _OPTIONAL
    )
    if type_name:
        field.type_name = type_name
    return field


def _thing_file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name="test/gateway/v1/things.proto",
        package=PACKAGE,
        syntax="proto3",
        dependency=[
            "google/api/annotations.proto",
            "google/api/field_behavior.proto",
            "google/protobuf/timestamp.proto",
            "google/protobuf/duration.proto",
            "google/protobuf/field_mask.proto",
            "google/protobuf/wrappers.proto",
            "google/api/httpbody.proto",
        ],
    )
    color = file.enum_type.add(name="Color")
    for number, name in enumerate(("COLOR_UNSPECIFIED", "RED", "GREEN")):
        color.value.add(name=name, number=number)

    inner = file.message_type.add(name="Inner")
    _field(inner, "label", 1, _F.TYPE_STRING)
    _field(inner, "count", 2, _F.TYPE_INT64)

    thing = file.message_type.add(name="Thing")
    name_field = _field(thing, "name", 1, _F.TYPE_STRING)
    name_field.options.Extensions[field_behavior_pb2.field_behavior].append(
        field_behavior_pb2.FieldBehavior.REQUIRED
    )
    _field(thing, "size", 2, _F.TYPE_INT32)
    _field(thing, "active", 3, _F.TYPE_BOOL)
    _field(thing, "color", 4, _F.TYPE_ENUM, type_name=f".{PACKAGE}.Color")
    _field(thing, "tags", 5, _F.TYPE_STRING, repeated=True)
    _field(thing, "created_at", 6, _F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp")
    _field(thing, "inner", 7, _F.TYPE_MESSAGE, type_name=f".{PACKAGE}.Inner")
    entry = thing.nested_type.add(name="LabelsEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, _F.TYPE_STRING)
    _field(
        thing,
        "labels",
        8,
        _F.TYPE_MESSAGE,
        type_name=f".{PACKAGE}.Thing.LabelsEntry",
        repeated=True,
    )
    _field(thing, "ratio", 9, _F.TYPE_DOUBLE)
    _field(thing, "limit", 10, _F.TYPE_MESSAGE, type_name=".google.protobuf.Int32Value")
    _field(thing, "blob", 11, _F.TYPE_BYTES)
    _field(thing, "ttl", 12, _F.TYPE_MESSAGE, type_name=".google.protobuf.Duration")
    _field(thing, "sizes", 13, _F.TYPE_UINT64, repeated=True)

    update = file.message_type.add(name="UpdateThingRequest")
    _field(update, "thing", 1, _F.TYPE_MESSAGE, type_name=f".{PACKAGE}.Thing")
    _field(update, "update_mask", 2, _F.TYPE_MESSAGE, type_name=".google.protobuf.FieldMask")

    service = file.service.add(name="ThingService")

    def rpc(
        name: str,
        request: str,
        response: str,
        rule: http_pb2.HttpRule,
        *,
        streaming: bool = False,
    ) -> None:
        output = response if response.startswith(".") else f".{PACKAGE}.{response}"
        method = service.method.add(
            name=name,
            input_type=f".{PACKAGE}.{request}",
            output_type=output,
            server_streaming=streaming,
        )
        method.options.Extensions[annotations_pb2.http].CopyFrom(rule)

    get_rule = http_pb2.HttpRule(get="/v1/{name=things/*}")
    get_rule.additional_bindings.add(get="/v1/shelves/{inner.label}/things/{name}")
    rpc("GetThing", "Thing", "Thing", get_rule)
    rpc("ListThings", "Thing", "Thing", http_pb2.HttpRule(get="/v1/things"))
    rpc("CreateThing", "Thing", "Thing", http_pb2.HttpRule(post="/v1/things", body="*"))
    rpc(
        "UpdateThing",
        "UpdateThingRequest",
        "Thing",
        http_pb2.HttpRule(patch="/v1/{thing.name=things/*}", body="thing"),
    )
    rpc(
        "ArchiveThing",
        "Thing",
        "Thing",
        http_pb2.HttpRule(post="/v1/{name=things/*}:archive", body="*"),
    )
    rpc("GetFile", "Thing", "Thing", http_pb2.HttpRule(get="/v1/files/{name=**}"))
    rpc("GetTags", "Thing", "Thing", http_pb2.HttpRule(get="/v1/tags", response_body="tags"))
    rpc("GetInner", "Thing", "Thing", http_pb2.HttpRule(get="/v1/inner", response_body="inner"))
    rpc("DeleteThing", "Thing", "Thing", http_pb2.HttpRule(delete="/v1/{name=things/*}"))
    rpc("WatchThings", "Thing", "Thing", http_pb2.HttpRule(get="/v1/watch"), streaming=True)
    rpc("GetRaw", "Thing", ".google.api.HttpBody", http_pb2.HttpRule(get="/v1/raw"))
    return file


def thing_pool() -> tuple[descriptor_pool.DescriptorPool, FileDescriptor]:
    """A private pool holding the test file and everything it imports."""
    pool = descriptor_pool.DescriptorPool()
    for module in (
        descriptor_pb2,
        http_pb2,
        annotations_pb2,
        field_behavior_pb2,
        timestamp_pb2,
        duration_pb2,
        field_mask_pb2,
        wrappers_pb2,
        any_pb2,
        httpbody_pb2,
    ):
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    file = pool.AddSerializedFile(_thing_file().SerializeToString())
    return pool, file


def thing_bindings() -> list[HttpBinding]:
    _, file = thing_pool()
    return bindings_for_files([file])


def binding_for(bindings: list[HttpBinding], rpc: str, index: int = 0) -> HttpBinding:
    return next(b for b in bindings if b.method.name == rpc and b.binding_index == index)


def thing_class(file: FileDescriptor, name: str = "Thing") -> type[Message]:
    return message_factory.GetMessageClass(file.message_types_by_name[name])


FAIL_FIRST = "fail-first"
FAIL_AFTER = "fail-after"


def echo_handler(file: FileDescriptor) -> grpc.GenericRpcHandler:
    """Every ThingService RPC answers with a Thing echoing what the gateway sent.

    UpdateThing answers with the `thing` it was given, and stores the update
    mask's paths in `tags`, so a test sees both body and query fields arrive.
    WatchThings streams `size` Things named `<name>-<n>`; the tag "fail-first"
    fails it before the first, "fail-after" after the last (DATA_LOSS). GetRaw
    answers an HttpBody of `name`'s bytes typed `inner.label`.
    """
    thing = thing_class(file)
    update = thing_class(file, "UpdateThingRequest")
    handlers: dict[str, grpc.RpcMethodHandler] = {}

    def make(
        request_class: type[Message], answer: Callable[[Message], Message]
    ) -> grpc.RpcMethodHandler:
        async def handle(request: Message, context: grpc.aio.ServicerContext) -> Message:  # type: ignore[type-arg]
            return answer(request)

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=request_class.FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )

    def update_answer(request: Message) -> Message:
        reply = thing()
        reply.CopyFrom(request.thing)  # type: ignore[attr-defined]
        reply.tags.extend(request.update_mask.paths)  # type: ignore[attr-defined]
        return reply

    def raw_answer(request: Message) -> Message:
        name: str = request.name  # type: ignore[attr-defined]
        label: str = request.inner.label  # type: ignore[attr-defined]
        return httpbody_pb2.HttpBody(content_type=label, data=name.encode())

    async def watch(
        request: Message,
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> AsyncIterator[Message]:
        tags = list(request.tags)  # type: ignore[attr-defined]
        if FAIL_FIRST in tags:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no things to watch")
        for n in range(1, request.size + 1):  # type: ignore[attr-defined]
            yield thing(name=f"{request.name}-{n}", size=n)  # type: ignore[attr-defined]
        if FAIL_AFTER in tags:
            await context.abort(grpc.StatusCode.DATA_LOSS, "the watch lost its place")

    for method in file.services_by_name["ThingService"].methods:
        if method.name == "UpdateThing":
            handlers[method.name] = make(update, update_answer)
        elif method.name == "GetRaw":
            handlers[method.name] = make(thing, raw_answer)
        elif method.name == "WatchThings":
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                watch,
                request_deserializer=thing.FromString,
                response_serializer=lambda message: message.SerializeToString(),
            )
        else:
            handlers[method.name] = make(thing, lambda request: request)
    return grpc.method_handlers_generic_handler(SERVICE, handlers)
