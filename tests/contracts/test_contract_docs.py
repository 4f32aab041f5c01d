"""docs/contracts.md's tables agree with the generated descriptors, row for row."""

from __future__ import annotations

import re

import grpc
from contract_support import (
    DOCS,
    markdown_table,
    methods,
    pascal,
    pool,
    proto_files,
    proto_type,
    services,
)
from google.protobuf.descriptor import Descriptor, EnumDescriptor, EnumValueDescriptor

from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import capability_pb2, errors_pb2

_POOL = pool()
_REASON = re.compile(r"^[A-Z][A-Z0-9_]+[A-Z0-9]$")


def _error_values() -> dict[str, EnumValueDescriptor]:
    """Every enum value of every file that carries the grpc_code option, by name."""
    found: dict[str, EnumValueDescriptor] = {}
    for file in proto_files():
        for enum in file.enum_types_by_name.values():
            for value in enum.values:
                if value.GetOptions().HasExtension(errors_pb2.grpc_code):
                    assert value.name not in found, f"{value.name} declared twice"
                    found[value.name] = value
    return found


def test_error_table_lists_every_variant_exactly_once() -> None:
    rows = markdown_table("Error table")
    documented = [row["proto enum value"] for row in rows]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(_error_values())


def test_error_table_codes_match_the_descriptor_option() -> None:
    values = _error_values()
    for row in markdown_table("Error table"):
        value = values[row["proto enum value"]]
        option = value.GetOptions().Extensions[errors_pb2.grpc_code]
        assert grpc.StatusCode[row["gRPC code"]].value[0] == option, row
        assert alga_errors.status_for(value) is grpc.StatusCode[row["gRPC code"]]


def test_error_table_names_follow_the_wit() -> None:
    for row in markdown_table("Error table"):
        enum = _POOL.FindEnumTypeByName(f"alga.extension.v1.{pascal(row['WIT enum'])}")
        prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum.name).upper()
        expected = f"{prefix}_{row['variant'].replace('-', '_').upper()}"
        assert row["proto enum value"] == expected
        assert expected in enum.values_by_name


def test_reasons_are_the_value_names_and_unique() -> None:
    rows = markdown_table("Error table")
    reasons = [row["ErrorInfo reason"] for row in rows]
    assert reasons == [row["proto enum value"] for row in rows]
    assert len(set(reasons)) == len(reasons)
    for reason in reasons:
        assert _REASON.match(reason), reason
        assert len(reason) <= 63, reason
        assert alga_errors.variant_for_reason(reason) is _error_values()[reason]


def test_every_error_enum_has_an_unspecified_zero_that_is_not_a_variant() -> None:
    for value in _error_values().values():
        zero = value.type.values_by_number[0]
        assert zero.name.endswith("_UNSPECIFIED")
        assert not zero.GetOptions().HasExtension(errors_pb2.grpc_code)
        assert grpc.StatusCode.OK.value[0] != value.GetOptions().Extensions[errors_pb2.grpc_code]


def test_helper_knows_exactly_the_descriptor_variants() -> None:
    assert {v.name for v in alga_errors.error_variants()} == set(_error_values())


def test_error_domain_is_documented() -> None:
    assert f"`domain` = `{alga_errors.ERROR_DOMAIN}`" in DOCS.read_text()


def _documented_rpcs() -> list[str]:
    alga = [row["RPC"] for row in markdown_table("WIT functions → RPCs")]
    orloj = [row["RPC"] for row in markdown_table("Orloj interfaces → RPCs")]
    return alga + orloj


def test_every_rpc_is_documented_and_every_documented_rpc_exists() -> None:
    documented = _documented_rpcs()
    assert len(documented) == len(set(documented))
    assert set(documented) == set(methods())


def test_documented_capabilities_match_the_service_option() -> None:
    for row in markdown_table("WIT functions → RPCs"):
        service = methods()[row["RPC"]].containing_service
        options = service.GetOptions()
        if row["required capability"] == "—":
            assert not options.HasExtension(capability_pb2.required_capability), row
        else:
            assert (
                options.Extensions[capability_pb2.required_capability]
                == (row["required capability"])
            )


def test_every_alga_service_but_the_handler_requires_a_capability() -> None:
    for service in services():
        if service.file.package != "alga.extension.v1":
            continue
        has = service.GetOptions().HasExtension(capability_pb2.required_capability)
        assert has == (service.name != "HandlerService"), service.full_name


def test_documented_error_enums_exist() -> None:
    for row in markdown_table("WIT functions → RPCs"):
        if row["error enum"] != "—":
            enum = _POOL.FindEnumTypeByName(f"alga.extension.v1.{row['error enum']}")
            assert any(v.name in _error_values() for v in enum.values)


def test_type_table_names_existing_messages_in_the_named_file() -> None:
    for row in markdown_table("WIT types → proto"):
        found: Descriptor | EnumDescriptor
        if row["kind"] == "enum":
            found = _POOL.FindEnumTypeByName(row["proto"])
        else:
            found = _POOL.FindMessageTypeByName(row["proto"])
        assert found.file.name == f"alga/extension/v1/{row['file']}", row


def test_go_type_table_covers_every_field_with_its_type() -> None:
    rows = markdown_table("Orloj Go types → proto")
    documented = {row["proto field"]: row for row in rows}
    for message_name in ("MeteringEvent", "AuditEvent", "CapabilitySnapshot"):
        message = _POOL.FindMessageTypeByName(f"orloj.extensions.v1.{message_name}")
        fields = {f.full_name for f in message.fields}
        assert fields == {name for name in documented if name.startswith(message.full_name + ".")}
        for field in message.fields:
            row = documented[field.full_name]
            assert proto_type(field) == row["proto type"], row
            if row["Go field"].startswith("— (extplane addition"):
                # The one additive field: Orloj's events carry no idempotency key.
                assert field.name == "event_id", row
                continue
            go_message, go_field = row["Go field"].split(".")
            assert go_message == message_name
            assert re.sub(r"(?<!^)([A-Z])", r"_\1", go_field).lower() == field.name
