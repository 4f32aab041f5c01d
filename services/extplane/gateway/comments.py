"""Proto comments by element name, for generated documentation.

Compiled `_pb2` modules drop source comments; `make generate` ships them beside the
stubs as a FileDescriptorSet with source info (`extplane_protos/source_info.binpb`).
Without that file the answer is simply "no comment".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from importlib import resources

from google.protobuf import descriptor_pb2

logger = logging.getLogger(__name__)

SOURCE_INFO = "source_info.binpb"

# Field numbers of descriptor.proto that lead to named elements (see its
# SourceCodeInfo.Location.path documentation).
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

Path = tuple[int, ...]


# Lines addressed to tools, not readers (`// buf:lint:ignore RULE`): never shown.
_DIRECTIVE_PREFIXES = ("buf:lint:",)


def _clean(comment: str) -> str:
    lines = (line.strip() for line in comment.strip().splitlines())
    kept = (line for line in lines if not line.startswith(_DIRECTIVE_PREFIXES))
    return "\n".join(kept).strip()


def _enum_names(
    enum: descriptor_pb2.EnumDescriptorProto, scope: str, path: Path
) -> Iterator[tuple[Path, str]]:
    # Enum values are scoped beside their enum, as in C++ (and protobuf's descriptors).
    yield path, f"{scope}.{enum.name}"
    for index, value in enumerate(enum.value):
        yield (*path, _ENUM_VALUE, index), f"{scope}.{value.name}"


def _message_names(
    message: descriptor_pb2.DescriptorProto, scope: str, path: Path
) -> Iterator[tuple[Path, str]]:
    name = f"{scope}.{message.name}"
    yield path, name
    for index, field in enumerate(message.field):
        yield (*path, _MESSAGE_FIELD, index), f"{name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message_names(nested, name, (*path, _MESSAGE_NESTED, index))
    for index, enum in enumerate(message.enum_type):
        yield from _enum_names(enum, name, (*path, _MESSAGE_ENUM, index))


def _file_names(proto: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[Path, str]]:
    package = proto.package
    for index, message in enumerate(proto.message_type):
        yield from _message_names(message, package, (_FILE_MESSAGE, index))
    for index, enum in enumerate(proto.enum_type):
        yield from _enum_names(enum, package, (_FILE_ENUM, index))
    for index, service in enumerate(proto.service):
        name = f"{package}.{service.name}"
        yield (_FILE_SERVICE, index), name
        for method_index, method in enumerate(service.method):
            yield (_FILE_SERVICE, index, _SERVICE_METHOD, method_index), f"{name}.{method.name}"


def comments_from(files: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """Full element name (`pkg.Message`, `pkg.Message.field`, `pkg.Service.Method`, …)
    -> its leading comment (or trailing, when it has no leading one)."""
    found: dict[str, str] = {}
    for proto in files.file:
        located = {
            tuple(location.path): location.leading_comments or location.trailing_comments
            for location in proto.source_code_info.location
        }
        for path, name in _file_names(proto):
            comment = _clean(located.get(path, ""))
            if comment:
                found[name] = comment
    return found


def packaged_comments(package: str = "extplane_protos") -> Mapping[str, str]:
    """Comments of every contract shipped in `package`; empty if it carries none."""
    source = resources.files(package) / SOURCE_INFO
    if not source.is_file():
        logger.info(
            "no %s in %s: generated documentation has no descriptions", SOURCE_INFO, package
        )
        return {}
    return comments_from(descriptor_pb2.FileDescriptorSet.FromString(source.read_bytes()))
