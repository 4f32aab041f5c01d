"""Helpers for the contract tests: the docs' tables, the generated descriptors,
and the WIT as parsed by componentize-py. (A uniquely named module, not conftest,
so `import` cannot pick up another test folder's conftest.)"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import (
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.descriptor_pool import DescriptorPool

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "contracts.md"
WIT_DIR = ROOT / "wit"
BIN = Path(sys.executable).parent
PROTO_PACKAGES = ("extplane_protos.alga.extension.v1", "extplane_protos.orloj.extensions.v1")


def markdown_table(heading: str) -> list[dict[str, str]]:
    """Rows of the first table under `## heading`, keyed by header, backticks removed."""
    lines = DOCS.read_text().splitlines()
    start = lines.index(f"## {heading}")
    table: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append([cell.strip().replace("`", "") for cell in line.strip("|").split("|")])
        elif table:
            break
    assert table, f"no table under '## {heading}' in {DOCS}"
    header, _rule, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows]


def proto_files() -> list[FileDescriptor]:
    """Every file descriptor of our two proto packages, from the generated stubs."""
    files: list[FileDescriptor] = []
    for package_name in PROTO_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.endswith("_pb2"):
                module = importlib.import_module(f"{package_name}.{info.name}")
                files.append(module.DESCRIPTOR)
    return files


def pool() -> DescriptorPool:
    """The default pool, with every file of our two packages loaded into it."""
    proto_files()
    return descriptor_pool.Default()


def services() -> list[ServiceDescriptor]:
    return [s for f in proto_files() for s in f.services_by_name.values()]


def methods() -> dict[str, MethodDescriptor]:
    """Every RPC by full name, e.g. `alga.extension.v1.SecretsService.Get`."""
    return {m.full_name: m for s in services() for m in s.methods}


_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64",
}


def proto_type(field: FieldDescriptor) -> str:
    """A field's type as a .proto file spells it (`map<string, bool>`, a full message name)."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields
        return f"map<{proto_type(key)}, {proto_type(value)}>"
    if field.message_type is not None:
        return str(field.message_type.full_name)
    if field.enum_type is not None:
        return str(field.enum_type.full_name)
    return _SCALARS[field.type]


def snake(kebab: str) -> str:
    return kebab.replace("-", "_")


def pascal(kebab: str) -> str:
    return "".join(part.capitalize() for part in kebab.split("-"))


@dataclass(frozen=True)
class WitBindings:
    """The Python bindings componentize-py generated for world `runner`."""

    root: Path
    world: ModuleType
    interfaces: dict[str, ModuleType]  # by WIT interface name, `types` included


def generate_bindings(out: Path, wit_dir: Path = WIT_DIR) -> subprocess.CompletedProcess[str]:
    """Run componentize-py, the standard Python component tooling, on `wit_dir`."""
    return subprocess.run(
        [str(BIN / "componentize-py"), "-d", str(wit_dir), "-w", "runner", "bindings", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


_RECORD = re.compile(r"record ([a-z0-9-]+) \{(.*?)\}", re.DOTALL)
_FIELD = re.compile(r"^\s*([a-z0-9-]+):\s*(.+),$", re.MULTILINE)


def wit_record_field_types() -> dict[tuple[str, str], str]:
    """(record, field) -> WIT type text. Only integer widths are read from here:
    the Python bindings keep the structure but turn u16/u32/u64 alike into `int`."""
    text = (WIT_DIR / "alga-extension.wit").read_text()
    return {
        (record, name): wit_type.strip()
        for record, body in _RECORD.findall(text)
        for name, wit_type in _FIELD.findall(body)
    }
