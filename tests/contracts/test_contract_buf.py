"""buf lint and buf breaking guard the contracts, and really reject bad changes.

The negative cases run on a temporary copy of the workspace (buf.yaml, protos/
and the staged google/api files), so the repository is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from contract_support import BIN, ROOT
from google.protobuf import descriptor_pb2

from extplane_protos.alga.extension.v1 import capability_pb2, errors_pb2

BASELINE = ROOT / "protos" / "baseline.binpb"
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def _buf(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "buf"), *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module", autouse=True)
def _staged_google_api() -> None:
    subprocess.run([sys.executable, "tools/codegen.py", "--stage"], cwd=ROOT, check=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copytree(ROOT / "build" / "third_party", tmp_path / "build" / "third_party")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_lint_is_clean() -> None:
    result = _buf("lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_breaking_change_against_the_baseline() -> None:
    result = _buf("breaking", "protos", "--against", BASELINE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_additive_change_passes_on_the_copy(workspace: Path) -> None:
    _edit(
        workspace / "protos/orloj/extensions/v1/metering.proto",
        "  string event_id = 10;\n",
        "  string event_id = 10;\n  // Where the work ran.\n  string region = 11;\n",
    )
    result = _buf("breaking", "protos", "--against", BASELINE, cwd=workspace)
    assert result.returncode == 0, result.stdout + result.stderr


_V1 = "protos/alga/extension/v1"
BREAKING_EDITS: dict[str, tuple[str, str, str, str]] = {
    # name: (file, old text, new text, what buf's report must mention)
    "renamed field": (
        "protos/orloj/extensions/v1/metering.proto",
        "int64 tokens_in = 6;",
        "int64 input_tokens = 6;",
        "tokens_in",
    ),
    "narrowed type": (
        f"{_V1}/types.proto",
        "optional uint64 revision = 4;",
        "optional uint32 revision = 4;",
        "revision",
    ),
    "removed rpc": (
        f"{_V1}/storage.proto",
        "rpc Delete(StorageServiceDeleteRequest) returns (StorageServiceDeleteResponse);",
        "",
        "Delete",
    ),
    "removed enum value": (
        f"{_V1}/types.proto",
        "  SECRET_ERROR_EXPIRED = 3 [(grpc_code) = 9]; // FAILED_PRECONDITION\n",
        "",
        'enum value "3" on enum "SecretError"',
    ),
}


@pytest.mark.parametrize("edit", list(BREAKING_EDITS))
def test_a_breaking_change_is_rejected(workspace: Path, edit: str) -> None:
    file, old, new, mention = BREAKING_EDITS[edit]
    _edit(workspace / file, old, new)
    result = _buf("breaking", "protos", "--against", BASELINE, cwd=workspace)
    assert result.returncode != 0
    assert mention in result.stdout


def test_lint_rejects_a_nonstandard_name(workspace: Path) -> None:
    _edit(workspace / f"{_V1}/types.proto", "string tenant_id = 2;", "string tenantId = 2;")
    result = _buf("lint", cwd=workspace)
    assert result.returncode != 0
    assert "tenantId" in result.stdout


def _image(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path / "image.binpb"
    result = _buf("build", "protos", "-o", out)
    assert result.returncode == 0, result.stderr
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _commented_paths(file: descriptor_pb2.FileDescriptorProto) -> set[tuple[int, ...]]:
    return {
        tuple(loc.path) for loc in file.source_code_info.location if loc.leading_comments.strip()
    }


def _elements(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    """Source paths of every message, field, enum, enum value, service and rpc."""
    # Paths are field numbers of descriptor.proto: file 4 = message_type, 5 = enum_type,
    # 6 = service, 7 = extension; message 2 = field, 3 = nested_type; enum 2 = value;
    # service 2 = method.
    found: dict[tuple[int, ...], str] = {}

    def message(path: tuple[int, ...], proto: descriptor_pb2.DescriptorProto) -> None:
        if proto.options.map_entry:
            return
        found[path] = proto.name
        for i, field in enumerate(proto.field):
            found[(*path, 2, i)] = f"{proto.name}.{field.name}"
        for i, nested in enumerate(proto.nested_type):
            message((*path, 3, i), nested)

    def enum(path: tuple[int, ...], proto: descriptor_pb2.EnumDescriptorProto) -> None:
        found[path] = proto.name
        for i, value in enumerate(proto.value):
            found[(*path, 2, i)] = value.name

    for i, proto in enumerate(file.message_type):
        message((4, i), proto)
    for i, enum_proto in enumerate(file.enum_type):
        enum((5, i), enum_proto)
    for i, service in enumerate(file.service):
        found[(6, i)] = service.name
        for j, method in enumerate(service.method):
            found[(6, i, 2, j)] = f"{service.name}.{method.name}"
    for i, extension in enumerate(file.extension):
        found[(7, i)] = extension.name
    return found


def _ours(image: descriptor_pb2.FileDescriptorSet) -> list[descriptor_pb2.FileDescriptorProto]:
    return [f for f in image.file if f.package in ("alga.extension.v1", "orloj.extensions.v1")]


def test_every_element_has_a_comment(tmp_path: Path) -> None:
    """Comments feed the OpenAPI and TypeScript docs, so none may be missing."""
    for file in _ours(_image(tmp_path)):
        commented = _commented_paths(file)
        missing = [name for path, name in _elements(file).items() if path not in commented]
        assert not missing, f"{file.name}: no leading comment on {missing}"


def test_service_comments_name_the_required_capability(tmp_path: Path) -> None:
    for file in _ours(_image(tmp_path)):
        comments = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}
        for i, service in enumerate(file.service):
            required = service.options.Extensions[capability_pb2.required_capability]
            if required:
                assert f"`{required}`" in comments[(6, i)], service.name


def test_error_value_comments_name_their_code(tmp_path: Path) -> None:
    """The `// NOT_FOUND` beside each option number stays true, for human readers."""
    for file in _ours(_image(tmp_path)):
        trailing = {
            tuple(loc.path): loc.trailing_comments for loc in file.source_code_info.location
        }
        for i, enum in enumerate(file.enum_type):
            for j, value in enumerate(enum.value):
                code = value.options.Extensions[errors_pb2.grpc_code]
                if code:
                    assert trailing[(5, i, 2, j)].strip() == _CODE_NAMES[code], value.name
