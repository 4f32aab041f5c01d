"""HTTP -> request message and response -> JSON, on a service built in the test."""

from __future__ import annotations

import json

import pytest
from gateway_support import binding_for, thing_bindings, thing_class, thing_pool
from google.protobuf import json_format
from google.protobuf.message import Message

from extplane.gateway.errors import RequestError
from extplane.gateway.registry import HttpBinding
from extplane.gateway.routes import MethodNotAllowedError, RouteTable
from extplane.gateway.transcode import build_request, render_response

BINDINGS = thing_bindings()
_, FILE = thing_pool()
TABLE = RouteTable(BINDINGS)


def transcode(
    method: str, path: str, query: list[tuple[str, str]] | None = None, body: bytes = b""
) -> Message:
    match = TABLE.match(method, path)
    return build_request(match.binding, path_values=match.path_values, query=query or [], body=body)


def as_json(message: Message) -> dict[str, object]:
    rendered: dict[str, object] = json_format.MessageToDict(message)
    return rendered


def refused(method: str, path: str, query: list[tuple[str, str]], body: bytes = b"") -> str:
    with pytest.raises(RequestError) as caught:
        transcode(method, path, query, body)
    assert caught.value.http_status == 400
    return caught.value.message


def test_path_variable_sets_its_field() -> None:
    assert as_json(transcode("GET", "/v1/things/lamp")) == {"name": "things/lamp"}


def test_additional_binding_sets_nested_path_fields() -> None:
    request = transcode("GET", "/v1/shelves/top/things/lamp")
    assert as_json(request) == {"name": "lamp", "inner": {"label": "top"}}


def test_query_parameters_of_every_kind() -> None:
    request = transcode(
        "GET",
        "/v1/things",
        [
            ("size", "7"),
            ("active", "true"),
            ("color", "GREEN"),
            ("tags", "a"),
            ("tags", "b"),
            ("created_at", "2024-05-01T12:30:00Z"),
            ("inner.label", "x"),
            ("inner.count", "9007199254740993"),
            ("labels[env]", "prod"),
            ("labels[tier]", "gold"),
            ("ratio", "0.25"),
            ("limit", "3"),
            ("blob", "aGk="),
            ("ttl", "1.5s"),
            ("sizes", "1"),
            ("sizes", "18446744073709551615"),
        ],
    )
    assert as_json(request) == {
        "size": 7,
        "active": True,
        "color": "GREEN",
        "tags": ["a", "b"],
        "createdAt": "2024-05-01T12:30:00Z",
        "inner": {"label": "x", "count": "9007199254740993"},
        "labels": {"env": "prod", "tier": "gold"},
        "ratio": 0.25,
        "limit": 3,
        "blob": "aGk=",
        "ttl": "1.500s",
        "sizes": ["1", "18446744073709551615"],
    }


def test_query_parameters_accept_json_names_and_enum_numbers() -> None:
    request = transcode(
        "GET", "/v1/things", [("createdAt", "2024-05-01T00:00:00Z"), ("color", "1")]
    )
    assert as_json(request) == {"createdAt": "2024-05-01T00:00:00Z", "color": "RED"}


def test_bools_accept_the_usual_spellings() -> None:
    assert as_json(transcode("GET", "/v1/things", [("active", "1")])) == {"active": True}
    assert as_json(transcode("GET", "/v1/things", [("active", "False")])) == {}


def test_an_unknown_query_parameter_is_refused_by_name() -> None:
    assert refused("GET", "/v1/things", [("colour", "RED")]) == 'unknown query parameter "colour"'
    message = refused("GET", "/v1/things", [("inner.nope", "1")])
    assert message == 'unknown query parameter "inner.nope"'


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("size", "seven"),
        ("active", "maybe"),
        ("color", "PURPLE"),
        ("created_at", "yesterday"),
        ("ratio", "a quarter"),
        ("limit", "x"),
        ("ttl", "forever"),
        ("inner", "x"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_parameter(name: str, value: str) -> None:
    message = refused("GET", "/v1/things", [(name, value)])
    assert message.startswith(f'query parameter "{name}": ')


def test_a_repeated_singular_parameter_is_refused() -> None:
    message = refused("GET", "/v1/things", [("size", "1"), ("size", "2")])
    assert message == 'query parameter "size" given 2 times'


def test_map_syntax_only_for_maps() -> None:
    assert "map fields" in refused("GET", "/v1/things", [("labels", "x")])
    assert "map fields" in refused("GET", "/v1/things", [("size[a]", "1")])


def test_a_parameter_cannot_override_the_path() -> None:
    message = refused("GET", "/v1/things/lamp", [("name", "other")])
    assert message == 'query parameter "name" sets a field the path sets'


def test_body_star_takes_the_whole_message_and_no_query() -> None:
    body = json.dumps({"name": "n", "createdAt": "2024-01-01T00:00:00Z", "tags": ["x"]}).encode()
    request = transcode("POST", "/v1/things", body=body)
    assert as_json(request) == {"name": "n", "createdAt": "2024-01-01T00:00:00Z", "tags": ["x"]}
    message = refused("POST", "/v1/things", [("size", "1")], body)
    assert message.startswith('query parameter "size" is not accepted')


def test_body_accepts_proto_names_too() -> None:
    request = transcode("POST", "/v1/things", body=b'{"created_at": "2024-01-01T00:00:00Z"}')
    assert as_json(request) == {"createdAt": "2024-01-01T00:00:00Z"}


def test_path_wins_over_the_body() -> None:
    request = transcode("POST", "/v1/things/t1:archive", body=b'{"name": "forged", "size": 2}')
    assert as_json(request) == {"name": "things/t1", "size": 2}


def test_a_body_field_with_query_for_the_rest() -> None:
    request = transcode(
        "PATCH",
        "/v1/things/t1",
        [("update_mask", "size,tags")],
        body=b'{"size": 4, "tags": ["q"]}',
    )
    assert as_json(request) == {
        "thing": {"name": "things/t1", "size": 4, "tags": ["q"]},
        "updateMask": "size,tags",
    }
    message = refused("PATCH", "/v1/things/t1", [("thing.size", "1")], b"{}")
    assert message == 'query parameter "thing.size" sets a field the body sets'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "request body is nested too deeply"),
        (b'{"bogus": 1}', 'request body: Message type "test.gateway.v1.Thing" has no field'),
        (b'{"size": "big"}', "request body: Failed to parse size field"),
    ],
)
def test_a_bad_body_is_refused_with_a_reason(body: bytes, expected: str) -> None:
    assert refused("POST", "/v1/things", [], body).startswith(expected)


def test_unknown_paths_and_wrong_methods() -> None:
    with pytest.raises(RequestError) as not_found:
        TABLE.match("GET", "/v1/nothing")
    assert not_found.value.http_status == 404
    with pytest.raises(MethodNotAllowedError) as wrong_method:
        TABLE.match("PUT", "/v1/things/lamp")
    assert wrong_method.value.http_status == 405
    assert wrong_method.value.allowed == ("DELETE", "GET", "PATCH")


def _reply(**fields: object) -> Message:
    message = thing_class(FILE)()
    json_format.ParseDict(fields, message)
    return message


def _rendered(binding: HttpBinding, reply: Message) -> object:
    return json.loads(render_response(binding, reply))


def test_responses_emit_unpopulated_fields() -> None:
    rendered = _rendered(binding_for(BINDINGS, "GetThing"), _reply(name="n"))
    assert rendered == {
        "name": "n",
        "size": 0,
        "active": False,
        "color": "COLOR_UNSPECIFIED",
        "tags": [],
        "labels": {},
        "ratio": 0.0,
        "blob": "",
        "sizes": [],
    }


def test_response_body_selects_one_field() -> None:
    reply = _reply(tags=["a", "b"], inner={"label": "l"})
    assert _rendered(binding_for(BINDINGS, "GetTags"), reply) == ["a", "b"]
    assert _rendered(binding_for(BINDINGS, "GetInner"), reply) == {"label": "l", "count": "0"}
    assert _rendered(binding_for(BINDINGS, "GetInner"), _reply()) == {"label": "", "count": "0"}
