"""Query parameters of the metering and audit routes, over real HTTP -> real gRPC.

Enum values in three spellings (short, full, number; any case for the first
two), repeated enums, RFC 3339 timestamps, 32- and 64-bit integers, snake_case
and lowerCamelCase names; a bad value is 400 naming its parameter.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_servers import Gateway, Upstream
from google.protobuf import descriptor_pb2, descriptor_pool
from query_fakes import AUDIT_TOKEN, METERING_TOKEN, bearer

from extplane.gateway.enums import shared_prefix, spellings
from extplane_protos.orloj.extensions.v1 import audit_query_pb2, metering_query_pb2

USAGE = "/v1/metering/usage"
START = "2026-11-21T00:00:00Z"
M = metering_query_pb2
A = audit_query_pb2

Params = list[tuple[str, str]]


async def _usage(gateway: Gateway, upstream: Upstream, params: Params) -> M.GetUsageRequest:
    query = tuple(params)  # a tuple: httpx types lists of pairs invariantly
    response = await gateway.client.get(USAGE, params=query, headers=bearer(METERING_TOKEN))
    assert response.status_code == 200, response.text
    return upstream.metering.usage_requests[-1]


async def _refused(gateway: Gateway, route: str, params: Params, token: str) -> dict[str, Any]:
    query = tuple(params)  # a tuple: httpx types lists of pairs invariantly
    response = await gateway.client.get(route, params=query, headers=bearer(token))
    assert response.status_code == 400
    body: dict[str, Any] = response.json()
    assert body["code"] == 3
    return body


def _violated_field(body: dict[str, Any]) -> str:
    (detail,) = body["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    (violation,) = detail["fieldViolations"]
    field: str = violation["field"]
    return field


@pytest.mark.parametrize(
    "spelled",
    ["hour", "HOUR", "Hour", "USAGE_WINDOW_HOUR", "usage_window_hour", "2"],
)
async def test_an_enum_value_in_every_spelling(
    gateway: Gateway, upstream: Upstream, spelled: str
) -> None:
    request = await _usage(gateway, upstream, [("start_time", START), ("window", spelled)])
    assert request.window == M.USAGE_WINDOW_HOUR


async def test_a_repeated_enum_keeps_its_order(gateway: Gateway, upstream: Upstream) -> None:
    params = [("start_time", START), ("group_by", "model"), ("group_by", "agent")]
    request = await _usage(gateway, upstream, params)
    assert list(request.group_by) == [M.USAGE_DIMENSION_MODEL, M.USAGE_DIMENSION_AGENT]

    mixed = [("startTime", START), ("groupBy", "NAMESPACE"), ("groupBy", "4"), ("groupBy", "Task")]
    request = await _usage(gateway, upstream, mixed)
    assert list(request.group_by) == [
        M.USAGE_DIMENSION_NAMESPACE,
        M.USAGE_DIMENSION_MODEL,
        M.USAGE_DIMENSION_TASK,
    ]


async def test_audit_order_and_format(gateway: Gateway, upstream: Upstream) -> None:
    response = await gateway.client.get(
        "/v1/audit/events", params={"order": "descending"}, headers=bearer(AUDIT_TOKEN)
    )
    assert response.status_code == 200
    assert upstream.audit.list_requests[-1].order == A.AUDIT_ORDER_DESCENDING

    for spelled in ("csv", "CSV", "AUDIT_EXPORT_FORMAT_CSV", "2"):
        response = await gateway.client.get(
            "/v1/audit/export", params={"format": spelled}, headers=bearer(AUDIT_TOKEN)
        )
        assert response.status_code == 200
        assert upstream.audit.export_requests[-1].format == A.AUDIT_EXPORT_FORMAT_CSV


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([("window", "fortnight")], "window"),
        ([("group_by", "model"), ("group_by", "planet")], "group_by"),
        ([("groupBy", "usage_dimension")], "groupBy"),
        ([("window", "")], "window"),
        # Numbers as grpc-gateway reads them: declared values, plain decimal.
        ([("window", "7")], "window"),
        ([("window", "-1")], "window"),
        ([("window", "02")], "window"),
        ([("group_by", "model"), ("group_by", "9")], "group_by"),
    ],
)
async def test_an_unknown_enum_value_is_400_naming_the_parameter(
    gateway: Gateway, params: Params, named: str
) -> None:
    body = await _refused(gateway, USAGE, [("start_time", START), *params], METERING_TOKEN)
    message = body["message"]
    assert isinstance(message, str)
    assert message.startswith(f'query parameter "{named}": ')
    assert _violated_field(body) == named


async def test_an_unknown_enum_value_lists_the_short_forms(gateway: Gateway) -> None:
    body = await _refused(gateway, "/v1/audit/export", [("format", "xml")], AUDIT_TOKEN)
    assert body["message"] == (
        "query parameter \"format\": 'xml' is not one of unspecified, jsonl, csv (any case), "
        "a full value name or a number"
    )


@pytest.mark.parametrize(
    ("value", "seconds", "nanos"),
    [
        ("2026-11-21T00:00:00Z", 1795219200, 0),
        ("2026-11-21T01:00:00+01:00", 1795219200, 0),
        ("2026-11-20T19:00:00-05:00", 1795219200, 0),
        ("2026-11-21T00:00:00.250Z", 1795219200, 250_000_000),
    ],
)
async def test_timestamps_are_rfc_3339(
    gateway: Gateway, upstream: Upstream, value: str, seconds: int, nanos: int
) -> None:
    request = await _usage(gateway, upstream, [("start_time", value)])
    assert (request.start_time.seconds, request.start_time.nanos) == (seconds, nanos)
    request = await _usage(gateway, upstream, [("startTime", START), ("endTime", value)])
    assert request.end_time.seconds == seconds


async def test_an_unescaped_plus_in_an_offset_still_reads_as_plus(
    gateway: Gateway, upstream: Upstream
) -> None:
    # A form-encoded query turns "+" into a space; the offset is recovered.
    response = await gateway.client.get(
        "/v1/metering/events?start_time=2026-11-21T01:00:00+01:00",
        headers=bearer(METERING_TOKEN),
    )
    assert response.status_code == 200
    assert upstream.metering.events_requests[-1].start_time.seconds == 1795219200


@pytest.mark.parametrize("value", ["yesterday", "2026-11-21", "2026-13-01T00:00:00Z", ""])
async def test_a_bad_timestamp_is_400_naming_the_parameter(gateway: Gateway, value: str) -> None:
    body = await _refused(gateway, USAGE, [("start_time", value)], METERING_TOKEN)
    assert str(body["message"]).startswith('query parameter "start_time": ')
    assert _violated_field(body) == "start_time"


async def test_integers_of_both_widths(gateway: Gateway, upstream: Upstream) -> None:
    response = await gateway.client.get(
        "/v1/metering/events",
        params={"page_size": "50", "page_token": "abc", "namespace": "team-a"},
        headers=bearer(METERING_TOKEN),
    )
    assert response.status_code == 200
    request = upstream.metering.events_requests[-1]
    assert (request.page_size, request.page_token, request.namespace) == (50, "abc", "team-a")

    # 2**53 + 1: a 64-bit value no JSON number (double) could carry exactly.
    response = await gateway.client.get(
        "/v1/audit/verify",
        params={"fromSequence": "9007199254740993", "to_sequence": "9007199254740999"},
        headers=bearer(AUDIT_TOKEN),
    )
    assert response.status_code == 200
    request_v = upstream.audit.verify_requests[-1]
    assert (request_v.from_sequence, request_v.to_sequence) == (
        9007199254740993,
        9007199254740999,
    )
    assert response.json()["fromSequence"] == "9007199254740993"


@pytest.mark.parametrize(
    ("route", "token", "name", "value"),
    [
        ("/v1/metering/events", METERING_TOKEN, "page_size", "many"),
        ("/v1/metering/events", METERING_TOKEN, "pageSize", "2147483648"),
        ("/v1/metering/events", METERING_TOKEN, "page_size", "1.5"),
        ("/v1/audit/verify", AUDIT_TOKEN, "from_sequence", "9223372036854775808"),
        ("/v1/audit/verify", AUDIT_TOKEN, "toSequence", "ten"),
    ],
)
async def test_a_bad_integer_is_400_naming_the_parameter(
    gateway: Gateway, route: str, token: str, name: str, value: str
) -> None:
    body = await _refused(gateway, route, [(name, value)], token)
    assert str(body["message"]).startswith(f'query parameter "{name}": ')
    assert _violated_field(body) == name


async def test_one_field_under_both_names_is_given_twice(gateway: Gateway) -> None:
    params = [("start_time", START), ("startTime", START)]
    body = await _refused(gateway, USAGE, params, METERING_TOKEN)
    assert body["message"] == 'query parameter "start_time" given 2 times'


async def test_an_unknown_parameter_is_400_naming_it(gateway: Gateway) -> None:
    body = await _refused(gateway, "/v1/audit/events", [("actr", "alice")], AUDIT_TOKEN)
    assert body["message"] == 'unknown query parameter "actr"'
    assert _violated_field(body) == "actr"


def test_the_shared_prefix_is_whole_words_and_never_a_whole_name() -> None:
    assert shared_prefix(["USAGE_WINDOW_UNSPECIFIED", "USAGE_WINDOW_DAY"]) == "USAGE_WINDOW_"
    assert shared_prefix(["COLOR_UNSPECIFIED", "RED"]) == ""
    assert shared_prefix(["ONLY_VALUE"]) == "ONLY_"
    assert shared_prefix(["A_B_C", "A_B"]) == "A_"
    assert shared_prefix(["AB_X", "AC_Y"]) == ""
    assert shared_prefix([]) == ""


def test_spellings_of_a_real_enum() -> None:
    forms = spellings(M.UsageDimension.DESCRIPTOR)
    assert forms.short_names == ("unspecified", "namespace", "task", "agent", "model")
    assert forms.resolve("Model") == "USAGE_DIMENSION_MODEL"
    assert forms.resolve("USAGE_DIMENSION_AGENT") == "USAGE_DIMENSION_AGENT"
    assert forms.resolve("3") == 3
    with pytest.raises(ValueError, match="'planet' is not one of unspecified, namespace"):
        forms.resolve("planet")


def test_a_spelling_two_values_share_only_works_exactly() -> None:
    # "KIND_RED" and "KIND_red" both fold to "red" (and "kind_red"): those
    # spellings would be a guess, so only the exact names reach the values.
    proto = descriptor_pb2.FileDescriptorProto(name="e.proto", package="e.v1", syntax="proto3")
    kind = proto.enum_type.add(name="Kind")
    for number, name in enumerate(("KIND_UNSPECIFIED", "KIND_RED", "KIND_red")):
        kind.value.add(name=name, number=number)
    file = descriptor_pool.DescriptorPool().AddSerializedFile(proto.SerializeToString())
    forms = spellings(file.enum_types_by_name["Kind"])
    assert forms.resolve("KIND_RED") == "KIND_RED"
    assert forms.resolve("KIND_red") == "KIND_red"
    assert forms.resolve("unspecified") == "KIND_UNSPECIFIED"
    for guess in ("red", "Red", "kind_Red"):
        with pytest.raises(ValueError, match="is not one of unspecified, red \\(any case\\)"):
            forms.resolve(guess)


async def test_audit_principal_filter_reaches_the_service(
    gateway: Gateway, upstream: Upstream
) -> None:
    for route, requests in (
        ("/v1/audit/events", upstream.audit.list_requests),
        ("/v1/audit/export", upstream.audit.export_requests),
    ):
        response = await gateway.client.get(
            route, params={"principal": "token:ingest-a"}, headers=bearer(AUDIT_TOKEN)
        )
        assert response.status_code == 200, response.text
        assert requests[-1].principal == "token:ingest-a"
