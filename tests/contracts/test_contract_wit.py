"""wit/ is valid WIT, and the protos mirror it field by field and function by function.

componentize-py (the standard component tooling on PyPI) parses the WIT and
generates Python bindings for world `runner`; the tests read those bindings.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from contract_support import (
    DOCS,
    WitBindings,
    generate_bindings,
    markdown_table,
    methods,
    pascal,
    pool,
    snake,
    wit_record_field_types,
)
from google.protobuf.descriptor import Descriptor, FieldDescriptor

_POOL = pool()
# Fields the protos add beyond the WIT; each must be documented as additive.
ADDITIVE_FIELDS = {
    "alga.extension.v1.StorageServiceListRequest.page_size",
    "alga.extension.v1.StorageServiceListResponse.next_cursor",
}


def _wit_functions() -> dict[str, str]:
    """WIT function (`iface.func`, or `handler`) -> RPC, from the docs."""
    return {
        row["WIT function"].split(" ")[0]: row["RPC"]
        for row in markdown_table("WIT functions → RPCs")
    }


def _module_functions(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(module, inspect.isfunction)
        if member.__module__ == module.__name__
    }


def test_invalid_wit_is_rejected(tmp_path: Path) -> None:
    """The parse really checks: the seed's own world syntax does not pass."""
    broken = tmp_path / "wit"
    broken.mkdir()
    (broken / "bad.wit").write_text(
        "package alga:extension;\ninterface context {}\n"
        "world runner { import context: interface context; }\n"
    )
    result = generate_bindings(tmp_path / "out", wit_dir=broken)
    assert result.returncode != 0


def test_every_interface_is_imported_by_the_world(wit_bindings: WitBindings) -> None:
    documented = {name.split(".")[0] for name in _wit_functions() if "." in name}
    assert set(wit_bindings.interfaces) == documented | {"types"}


def test_every_function_is_present_and_documented(wit_bindings: WitBindings) -> None:
    documented = set(_wit_functions())
    generated = {
        f"{interface}.{function.replace('_', '-')}"
        for interface, module in wit_bindings.interfaces.items()
        for function in _module_functions(module)
    }
    exported = {
        name
        for name, member in vars(wit_bindings.world.WitWorld).items()
        if callable(member) and not name.startswith("_")
    }
    assert exported == {"handler"}
    assert generated | exported == documented


def _has_presence(field: FieldDescriptor) -> bool:
    return bool(field.has_presence) and not _repeated(field)


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _unwrap(wit_type: str | None, wrapper: str) -> str | None:
    if wit_type is None:
        return None
    assert wit_type.startswith(f"{wrapper}<"), wit_type
    return wit_type[len(wrapper) + 1 : -1]


def _check(
    hint: Any, field: FieldDescriptor, wit_type: str | None, *, element: bool = False
) -> None:
    """`field` has the proto type the mapping rules give the WIT type.

    `hint` is the bindings' Python annotation; `wit_type` is the WIT source text,
    needed only to tell integer widths apart (None where no integer can occur).
    """
    where = f"{field.full_name} ({wit_type})"
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        assert _has_presence(field), f"{where}: option<T> needs presence"
        (inner,) = [a for a in args if a is not type(None)]
        _check(inner, field, _unwrap(wit_type, "option"), element=True)
        return
    if typing.get_origin(hint) is list:
        assert _repeated(field), f"{where}: list<T> must be repeated"
        _check(args[0], field, _unwrap(wit_type, "list"), element=True)
        return
    if not element:
        assert not _repeated(field), where
        assert not field.has_presence or field.message_type is not None, where
    if typing.get_origin(hint) is tuple:
        assert args == (str, str), where
        assert field.message_type is not None, where
        assert field.message_type.full_name == "alga.extension.v1.KeyValue", where
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
        assert field.message_type is not None, where
        assert field.message_type.name == hint.__name__, where
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        assert field.enum_type is not None, where
        assert field.enum_type.name == hint.__name__, where
    else:
        expected = {
            str: FieldDescriptor.TYPE_STRING,
            bool: FieldDescriptor.TYPE_BOOL,
            bytes: FieldDescriptor.TYPE_BYTES,
            float: FieldDescriptor.TYPE_DOUBLE,
        }.get(hint)
        if hint is int:
            assert wit_type is not None, f"{where}: integer width unknown"
            wit_int = {"u16": "uint32", "u32": "uint32", "u64": "uint64"}[wit_type]
            expected = getattr(FieldDescriptor, f"TYPE_{wit_int.upper()}")
        assert expected is not None, f"{where}: no mapping rule for {hint}"
        assert field.type == expected, where


def _records(bindings: WitBindings) -> list[type]:
    module = bindings.interfaces["types"]
    return [
        member
        for _name, member in inspect.getmembers(module, inspect.isclass)
        if member.__module__ == module.__name__ and dataclasses.is_dataclass(member)
    ]


def _enums(bindings: WitBindings) -> list[type[enum.Enum]]:
    module = bindings.interfaces["types"]
    return [
        member
        for _name, member in inspect.getmembers(module, inspect.isclass)
        if member.__module__ == module.__name__ and issubclass(member, enum.Enum)
    ]


def _type_table() -> dict[str, str]:
    return {row["WIT type"]: row["proto"] for row in markdown_table("WIT types → proto")}


def test_every_wit_type_is_in_the_type_table(wit_bindings: WitBindings) -> None:
    wit_types = {row_name for row_name in _type_table() if "<" not in row_name}
    generated = {pascal(name) for name in wit_types}
    assert generated == {cls.__name__ for cls in [*_records(wit_bindings), *_enums(wit_bindings)]}


def test_records_map_field_by_field(wit_bindings: WitBindings) -> None:
    widths = wit_record_field_types()
    by_pascal = {pascal(name): (name, proto) for name, proto in _type_table().items()}
    for record in _records(wit_bindings):
        wit_name, proto_name = by_pascal[record.__name__]
        message = _POOL.FindMessageTypeByName(proto_name)
        hints = typing.get_type_hints(record)
        fields = [f.name for f in dataclasses.fields(record)]
        assert [f.name for f in message.fields] == fields, proto_name
        assert [f.number for f in message.fields] == list(range(1, len(fields) + 1))
        for name in fields:
            wit_field = name.replace("_", "-")
            _check(hints[name], message.fields_by_name[name], widths[(wit_name, wit_field)])


def test_enums_map_case_by_case(wit_bindings: WitBindings) -> None:
    by_pascal = {pascal(name): proto for name, proto in _type_table().items()}
    for wit_enum in _enums(wit_bindings):
        proto = _POOL.FindEnumTypeByName(by_pascal[wit_enum.__name__])
        prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in wit_enum.__name__)[1:]
        assert proto.values_by_number[0].name == f"{prefix}_UNSPECIFIED"
        expected = [(f"{prefix}_{case.name}", case.value + 1) for case in wit_enum]
        assert [(v.name, v.number) for v in proto.values[1:]] == expected


def _message_fields(message: Descriptor) -> list[FieldDescriptor]:
    return [f for f in message.fields if f.full_name not in ADDITIVE_FIELDS]


def _function(bindings: WitBindings, wit_name: str) -> Any:
    if wit_name == "handler":
        return bindings.world.WitWorld.handler
    interface, function = wit_name.split(".")
    return getattr(bindings.interfaces[interface], snake(function))


@pytest.mark.parametrize("wit_name", sorted(_wit_functions()))
def test_functions_map_to_their_rpc(wit_bindings: WitBindings, wit_name: str) -> None:
    """Arguments are the request's fields; the success value is the response's one field."""
    method = methods()[_wit_functions()[wit_name]]
    function = _function(wit_bindings, wit_name)
    hints = typing.get_type_hints(function)
    params = [p for p in inspect.signature(function).parameters if p != "self"]
    if wit_name == "handler":
        # The handler's argument and result records are the RPC's own messages.
        assert method.input_type.name == hints[params[0]].__name__
        assert method.output_type.name == hints["return"].__name__
        return
    request = _message_fields(method.input_type)
    assert [f.name for f in request] == params
    for name in params:
        _check(hints[name], method.input_type.fields_by_name[name], None)
    response = _message_fields(method.output_type)
    if hints["return"] is type(None):
        assert response == []
    else:
        (only,) = response
        _check(hints["return"], only, None)


def test_additive_fields_exist_and_are_documented() -> None:
    text = DOCS.read_text()
    for full_name in ADDITIVE_FIELDS:
        message, field = full_name.rsplit(".", 1)
        assert field in _POOL.FindMessageTypeByName(message).fields_by_name
        assert f"`{message.rsplit('.', 1)[1]}.{field}`" in text
