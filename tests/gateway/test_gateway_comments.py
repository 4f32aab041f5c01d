"""Proto comments by element name, read from the source info `make generate` ships."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from extplane.gateway.comments import comments_from, packaged_comments


def test_the_shipped_contracts_carry_their_comments() -> None:
    comments = packaged_comments()
    assert comments["orloj.extensions.v1.CapabilityProvider"]
    assert comments["orloj.extensions.v1.CapabilitySnapshot.metadata"]
    assert comments["alga.extension.v1.StorageService"].startswith("StorageService")
    # Enum values are named beside their enum, as protobuf scopes them.
    assert comments["alga.extension.v1.SECRET_ERROR_MISSING"]


def test_nested_elements_are_named_by_their_full_path() -> None:
    proto = descriptor_pb2.FileDescriptorProto(name="x.proto", package="p.v1")
    outer = proto.message_type.add(name="Outer")
    outer.field.add(name="id")
    inner = outer.nested_type.add(name="Inner")
    inner.field.add(name="value")
    kind = outer.enum_type.add(name="Kind")
    kind.value.add(name="KIND_A")
    located = {
        (4, 0): " Outer things.\n",
        (4, 0, 2, 0): " The id.\n",
        (4, 0, 3, 0): " Inside.\n",
        (4, 0, 3, 0, 2, 0): " A value.\n",
        (4, 0, 4, 0, 2, 0): " The A kind.\n",
    }
    for path, comment in located.items():
        proto.source_code_info.location.add(path=path, leading_comments=comment)
    proto.source_code_info.location.add(path=(4, 0, 4, 0), trailing_comments=" Kinds. ")

    comments = comments_from(descriptor_pb2.FileDescriptorSet(file=[proto]))

    assert comments == {
        "p.v1.Outer": "Outer things.",
        "p.v1.Outer.id": "The id.",
        "p.v1.Outer.Inner": "Inside.",
        "p.v1.Outer.Inner.value": "A value.",
        "p.v1.Outer.Kind": "Kinds.",
        "p.v1.Outer.KIND_A": "The A kind.",
    }


def test_buf_lint_directives_are_not_documentation() -> None:
    proto = descriptor_pb2.FileDescriptorProto(name="x.proto", package="p.v1")
    service = proto.service.add(name="Things")
    service.method.add(name="Export")
    service.method.add(name="Ignored")
    proto.source_code_info.location.add(
        path=(6, 0, 2, 0),
        leading_comments=" Export streams things.\n buf:lint:ignore RPC_RESPONSE_STANDARD_NAME\n"
        " Then it stops.\n",
    )
    proto.source_code_info.location.add(
        path=(6, 0, 2, 1), leading_comments=" buf:lint:ignore RPC_REQUEST_STANDARD_NAME\n"
    )

    comments = comments_from(descriptor_pb2.FileDescriptorSet(file=[proto]))

    assert comments == {"p.v1.Things.Export": "Export streams things.\nThen it stops."}


def test_the_shipped_export_comment_has_no_directive() -> None:
    comment = packaged_comments()["orloj.extensions.v1.AuditQueryService.ExportAuditEvents"]
    assert comment.startswith("ExportAuditEvents streams every record")
    assert "buf:lint" not in comment
