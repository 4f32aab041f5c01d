"""HTTP request -> request message, and response message -> HTTP body (protojson).

The request message is filled in grpc-gateway's order: the body (`body: "*"` or
one field), then query parameters, then path variables. A query parameter that
names no field, or one that the body or the path already sets, is refused with
400 naming it (grpc-gateway silently drops the latter; a silent drop hides a
client's mistake, so it is refused here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.protobuf import json_format, message_factory
from google.protobuf.message import Message

from extplane.gateway.errors import invalid_argument
from extplane.gateway.fields import (
    FieldPath,
    FieldPathError,
    find_field,
    is_map,
    nest,
    proto_path,
    resolve_field_path,
    scalar_json,
)
from extplane.gateway.registry import HttpBinding
from extplane.runtime import bounds

_QUERY_NAME = re.compile(r"(?P<path>[^\[\]]+)(?:\[(?P<key>[^\[\]]*)\])?")


def _first_line(error: Exception) -> str:
    return str(error).split("\n", 1)[0]


def json_bytes(payload: object) -> bytes:
    # Sorted keys make equal messages render to equal bytes, whatever order
    # their maps arrived in, so an ETag changes only when the content does.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


@dataclass(frozen=True)
class _QueryParam:
    name: str
    fields: FieldPath
    map_key: str | None


def _resolve_query_name(binding: HttpBinding, name: str) -> _QueryParam:
    found = _QUERY_NAME.fullmatch(name)
    if found is None:
        raise invalid_argument(f'unknown query parameter "{name}"', field=name)
    try:
        fields = resolve_field_path(binding.request_type, found.group("path"))
    except FieldPathError:
        raise invalid_argument(f'unknown query parameter "{name}"', field=name) from None
    key = found.group("key")
    if (key is not None) != is_map(fields[-1]):
        raise invalid_argument(
            f'query parameter "{name}": use "field[key]=value" for map fields, and only for them',
            field=name,
        )
    return _QueryParam(name, fields, key)


def _check_not_bound_elsewhere(binding: HttpBinding, param: _QueryParam) -> None:
    if binding.body == "*":
        raise invalid_argument(
            f'query parameter "{param.name}" is not accepted: the request body sets every field',
            field=param.name,
        )
    body_field = find_field(binding.request_type, binding.body) if binding.body else None
    if body_field is not None and param.fields[0].full_name == body_field.full_name:
        raise invalid_argument(
            f'query parameter "{param.name}" sets a field the body sets', field=param.name
        )
    path = proto_path(param.fields)
    for bound in binding.path_fields:
        bound_path = proto_path(bound)
        if (
            path == bound_path
            or path.startswith(bound_path + ".")
            or bound_path.startswith(path + ".")
        ):
            raise invalid_argument(
                f'query parameter "{param.name}" sets a field the path sets', field=param.name
            )


def _query_value(param: _QueryParam, values: Sequence[str]) -> object:
    leaf = param.fields[-1]
    value_field = bounds.map_value_field(leaf)
    if param.map_key is not None and value_field is not None:
        return {param.map_key: scalar_json(value_field, values[-1])}
    if leaf.is_repeated:
        return [scalar_json(leaf, value) for value in values]
    return scalar_json(leaf, values[-1])


def _merge_into(tree: dict[str, object], addition: Mapping[str, object]) -> None:
    for key, value in addition.items():
        existing = tree.get(key)
        if isinstance(existing, dict) and isinstance(value, Mapping):
            _merge_into(existing, value)
        else:
            tree[key] = value


def _query_tree(binding: HttpBinding, query: Sequence[tuple[str, str]]) -> dict[str, object]:
    grouped: dict[tuple[str, str | None], tuple[_QueryParam, list[str]]] = {}
    for name, value in query:
        param = _resolve_query_name(binding, name)
        _check_not_bound_elsewhere(binding, param)
        group_key = (proto_path(param.fields), param.map_key)
        grouped.setdefault(group_key, (param, []))[1].append(value)
    tree: dict[str, object] = {}
    scratch_class = message_factory.GetMessageClass(binding.request_type)
    for param, values in grouped.values():
        if len(values) > 1 and not param.fields[-1].is_repeated:
            raise invalid_argument(
                f'query parameter "{param.name}" given {len(values)} times', field=param.name
            )
        try:
            piece = nest(param.fields, _query_value(param, values))
            # Parsed alone first so a bad value is reported under its own name.
            json_format.ParseDict(piece, scratch_class())
        except (ValueError, json_format.ParseError) as exc:
            raise invalid_argument(
                f'query parameter "{param.name}": {_first_line(exc)}', field=param.name
            ) from None
        _merge_into(tree, piece)
    return tree


def _parse_body(binding: HttpBinding, body: bytes, message: Message) -> None:
    if not binding.body or not body.strip():
        return
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_argument(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise invalid_argument("request body is nested too deeply") from None
    if binding.body == "*" and not isinstance(document, dict):
        raise invalid_argument("request body must be a JSON object")
    if binding.body != "*":
        document = {binding.body: document}
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as exc:
        raise invalid_argument(f"request body: {_first_line(exc)}") from None


def _apply_path(binding: HttpBinding, path_values: Mapping[str, str], message: Message) -> None:
    for variable, fields in zip(binding.template.variables, binding.path_fields, strict=True):
        try:
            piece = nest(fields, scalar_json(fields[-1], path_values[variable.field_path]))
            json_format.ParseDict(piece, message)
        except (ValueError, json_format.ParseError) as exc:
            raise invalid_argument(
                f'path parameter "{variable.field_path}": {_first_line(exc)}',
                field=variable.field_path,
            ) from None


def build_request(
    binding: HttpBinding,
    *,
    path_values: Mapping[str, str],
    query: Sequence[tuple[str, str]],
    body: bytes,
) -> Message:
    """The request message for one HTTP request; `RequestError` (400) names what is wrong."""
    message = message_factory.GetMessageClass(binding.request_type)()
    _parse_body(binding, body, message)
    tree = _query_tree(binding, query)
    if tree:
        try:
            json_format.ParseDict(tree, message)
        except json_format.ParseError as exc:
            raise invalid_argument(f"query parameters: {_first_line(exc)}") from None
    _apply_path(binding, path_values, message)
    return message


def message_json(message: Message) -> object:
    # Unpopulated fields are emitted, as grpc-gateway v2's default marshaler does,
    # so clients always see e.g. `{"features": {}, "metadata": {}}`. Unset message
    # fields are left out rather than written as null.
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def render_response(binding: HttpBinding, response: Message) -> bytes:
    """The HTTP body: the whole response, or only its `response_body` field."""
    if not binding.response_body:
        return json_bytes(message_json(response))
    fields = resolve_field_path(binding.response_type, binding.response_body)
    holder = response
    for field in fields[:-1]:
        holder = getattr(holder, field.name)
    leaf = fields[-1]
    if leaf.message_type is not None and not leaf.is_repeated:
        return json_bytes(message_json(getattr(holder, leaf.name)))
    rendered = message_json(holder)
    payload = rendered.get(leaf.json_name) if isinstance(rendered, dict) else None
    return json_bytes(payload)
