"""The schemathesis hook lets a 400 pass only for a rule the request really breaks."""

from __future__ import annotations

import pytest
from attack_schemathesis_hooks import admin_refusals, documented_refusals, violated_fields

USAGE = "/v1/metering/usage"


@pytest.mark.parametrize(
    ("path", "query", "allowed"),
    [
        # A range that ends before it starts; the end defaults to now.
        (
            "/v1/audit/events",
            {"startTime": "2026-01-02T00:00:00Z", "endTime": "2026-01-01T23:00:00-02:00"},
            set(),
        ),
        (
            "/v1/audit/events",
            {"startTime": "2026-01-02T00:00:00Z", "endTime": "2026-01-01T00:00:00Z"},
            {"end_time"},
        ),
        (USAGE, {"startTime": "9999-01-01T00:00:00Z"}, {"start_time"}),
        (USAGE, {"startTime": "2020-01-01T00:00:00Z", "window": "minute"}, {"window"}),
        (USAGE, {"startTime": "2020-01-01T00:00:00Z", "window": "day"}, set()),
        (
            USAGE,
            {"startTime": "2020-01-01T00:00:00Z", "groupBy": ["agent", "3"]},
            {"group_by[1]"},
        ),
        (USAGE, {"startTime": "2020-01-01T00:00:00Z", "groupBy": ["agent", "model"]}, set()),
        ("/v1/metering/events", {"pageToken": "abc"}, {"page_token"}),
        ("/v1/audit/verify", {"fromSequence": "5", "toSequence": "2"}, {"to_sequence"}),
        ("/v1/audit/verify", {"fromSequence": "100000"}, {"from_sequence"}),
        ("/v1/audit/verify", {"fromSequence": "1", "toSequence": "0"}, set()),
        ("/v1/admin/extensions", {"extensionId": "a b"}, {"extension_id"}),
        ("/v1/admin/extensions", {"extensionId": "com.example.x"}, set()),
    ],
)
def test_the_fields_a_400_may_name(
    path: str, query: dict[str, object], allowed: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTACK_AUDIT_HEAD", "120")
    assert documented_refusals(path, query) == allowed


def test_only_bad_request_field_violations_count() -> None:
    body = (
        b'{"code":3,"message":"m","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",'
        b'"fieldViolations":[{"field":"end_time","description":"d"}]}]}'
    )
    assert violated_fields(body) == {"end_time"}
    assert violated_fields(b'{"code":3,"message":"m","details":[]}') == set()
    assert violated_fields(b"not json") is None


INSTALL = "/v1/admin/tenants/{tenant}/installs/{install_id}"
UPLOAD = "/v1/admin/extensions/{extension_id}/versions"
CSV = "CATALOG_FILE_FORMAT_CSV"


@pytest.mark.parametrize(
    ("path", "path_parameters", "body", "allowed"),
    [
        (INSTALL, {"tenant": "team-a", "install_id": "agent-1"}, None, set()),
        (INSTALL, {"tenant": "\u00c3", "install_id": "agent-1"}, None, {"tenant"}),
        (INSTALL, {"tenant": "a", "install_id": "b"}, {"version": "1 0"}, {"version"}),
        (
            f"{INSTALL}/secrets/{{key}}",
            {"tenant": "a", "install_id": "b", "key": "-x"},
            {},
            {"key"},
        ),
        (
            f"{INSTALL}/secrets/{{key}}",
            {"tenant": "a", "install_id": "b", "key": "K"},
            {"value": "v", "expireTime": "2263-01-01T00:00:00Z"},
            {"expire_time"},
        ),
        (
            f"{INSTALL}/secrets/{{key}}",
            {"tenant": "a", "install_id": "b", "key": "K"},
            {"value": "v", "expireTime": "2100-01-01T00:00:00Z"},
            set(),
        ),
        # "a,b" as CSV: no column for the required fields.
        (
            "/v1/admin/tenants/{tenant}/clients:load",
            {"tenant": "a"},
            {"format": CSV, "content": "YSxi"},
            {"content"},
        ),
        (
            "/v1/admin/tenants/{tenant}/clients:load",
            {"tenant": "a"},
            # client_id,client_name,is_inactive\nc-1,Acme,false\n
            {
                "format": CSV,
                "content": "Y2xpZW50X2lkLGNsaWVudF9uYW1lLGlzX2luYWN0aXZlCmMtMSxBY21lLGZhbHNlCg==",
            },
            set(),
        ),
        (
            "/v1/admin/tenants/{tenant}/installs",
            {"tenant": "a"},
            {
                "installId": "b",
                "extensionId": "e",
                "version": "1",
                "uiProxyRoutes": [{"route": "r", "upstreamUrl": "nope"}],
            },
            {"ui_proxy_routes[0].upstream_url"},
        ),
        (
            f"{INSTALL}:issueToken",
            {"tenant": "a", "install_id": "b"},
            {"audience": "a b"},
            {"audience"},
        ),
        (UPLOAD, {"extension_id": "e"}, {"version": "1"}, {"handler"}),
        (UPLOAD, {"extension_id": "e"}, {"version": "1", "grpcAddress": "h:1"}, set()),
        (UPLOAD, {"extension_id": "e"}, {"version": "1", "grpcAddress": "h"}, {"grpc_address"}),
        # "AGFzbQEAAAA=" is a core module's header: not a component.
        (
            UPLOAD,
            {"extension_id": "e"},
            {"version": "1", "component": "AGFzbQEAAAA="},
            {"component"},
        ),
        (
            UPLOAD,
            {"extension_id": "e"},
            {"version": "1", "grpcAddress": "h:1", "declaredCapabilities": ["cap:root"]},
            {"declared_capabilities[0]"},
        ),
        (
            UPLOAD,
            {"extension_id": "e"},
            {"version": "1", "grpcAddress": "h:1", "limits": {"fuel": "-1", "timeoutMs": 5}},
            {"limits.fuel"},
        ),
        # The gateway decodes a path parameter before the service sees it.
        (f"{UPLOAD}/{{version}}", {"extension_id": "e", "version": "%C3%9C"}, None, {"version"}),
        (f"{UPLOAD}/{{version}}", {"extension_id": "e", "version": "1.0"}, None, set()),
        ("/v1/audit/events", {}, None, set()),
    ],
)
def test_the_admin_fields_a_400_may_name(
    path: str, path_parameters: dict[str, str], body: object, allowed: set[str]
) -> None:
    assert admin_refusals(path, path_parameters, body) == allowed
