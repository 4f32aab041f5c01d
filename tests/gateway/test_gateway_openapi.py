"""`GET /openapi.json`: OpenAPI 3.1 generated from the descriptors."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway_servers import Gateway, Upstream, close_gateway, open_gateway
from gateway_support import thing_bindings
from openapi_spec_validator import validate

from extplane.gateway import GatewaySettings
from extplane.gateway.constraints import TIMESTAMP_PATTERN
from extplane.gateway.openapi import openapi_document
from extplane.runtime.bounds import NO_CONTROL_PATTERN


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


async def test_the_capabilities_route_and_its_snapshot_schema(gateway: Gateway) -> None:
    response = await gateway.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "extplane gateway"

    operation = document["paths"]["/v1/capabilities"]["get"]
    assert operation["operationId"] == "CapabilityProvider_Capabilities"
    assert operation["parameters"] == []
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    snapshot = _resolve(document, ok)
    assert snapshot["type"] == "object"
    features, metadata = snapshot["properties"]["features"], snapshot["properties"]["metadata"]
    assert (features["type"], features["additionalProperties"]) == ("object", {"type": "boolean"})
    assert (metadata["type"], metadata["additionalProperties"]) == ("object", {"type": "string"})

    error = operation["responses"]["default"]["content"]["application/json"]["schema"]
    status = _resolve(document, error)
    assert status["properties"]["code"] == {"type": "integer", "format": "int32"}
    assert status["properties"]["message"] == {"type": "string"}
    assert status["properties"]["details"]["type"] == "array"
    assert status["properties"]["details"]["items"]["properties"]["@type"] == {"type": "string"}


async def test_the_document_is_revalidated_by_etag(gateway: Gateway) -> None:
    first = await gateway.client.get("/openapi.json")
    again = await gateway.client.get(
        "/openapi.json", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_parameters_bodies_and_schemas_of_a_richer_service() -> None:
    document = openapi_document(thing_bindings(), title="t", version="0")
    paths = document["paths"]
    assert isinstance(paths, dict)
    assert set(paths) == {
        "/v1/{name}",
        "/v1/{name}:archive",
        "/v1/{thing.name}",
        "/v1/shelves/{inner.label}/things/{name}",
        "/v1/things",
        "/v1/files/{name}",
        "/v1/tags",
        "/v1/inner",
        "/v1/watch",
        "/v1/raw",
    }
    assert set(paths["/v1/{name}"]) == {"get", "delete"}
    assert paths["/v1/shelves/{inner.label}/things/{name}"]["get"]["operationId"] == (
        "ThingService_GetThing2"
    )

    get_thing = paths["/v1/{name}"]["get"]
    parameters = {p["name"]: p for p in get_thing["parameters"]}
    assert parameters["name"] == {
        "name": "name",
        "in": "path",
        "required": True,
        # REQUIRED: the service refuses "" as missing.
        "schema": {"type": "string", "minLength": 1},
    }
    created_at = parameters["createdAt"]["schema"]
    assert (created_at["type"], created_at["format"]) == ("string", "date-time")
    assert created_at["pattern"] == TIMESTAMP_PATTERN
    # In a URL a 64-bit integer is digits, not protojson's string.
    assert parameters["inner.count"]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": -(2**63),
        "maximum": 2**63 - 1,
    }
    assert parameters["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    # Enum parameters list the short spellings first (here the names have no
    # shared prefix, so short is the lower-cased name), then the full names,
    # then the numbers (the gateway takes all three, as grpc-gateway does).
    assert parameters["color"]["schema"] == {
        "type": "string",
        "enum": [
            "color_unspecified",
            "red",
            "green",
            "COLOR_UNSPECIFIED",
            "RED",
            "GREEN",
            "0",
            "1",
            "2",
        ],
    }
    assert "in any case" in parameters["color"]["description"]
    assert "labels" not in parameters

    create = paths["/v1/things"]["post"]
    assert create["parameters"] == []
    body_schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {"$ref": "#/components/schemas/test.gateway.v1.Thing"}

    update = paths["/v1/{thing.name}"]["patch"]
    update_params = {p["name"] for p in update["parameters"]}
    assert update_params == {"thing.name", "updateMask"}

    tags = paths["/v1/tags"]["get"]["responses"]["200"]["content"]["application/json"]
    assert tags["schema"] == {"type": "array", "items": {"type": "string"}}

    components = document["components"]
    assert isinstance(components, dict)
    schemas = components["schemas"]
    assert schemas["test.gateway.v1.Color"] == {
        "type": "string",
        "enum": ["COLOR_UNSPECIFIED", "RED", "GREEN"],
    }
    thing = schemas["test.gateway.v1.Thing"]
    assert thing["required"] == ["name"]
    # protojson reads null as unset for a field with presence.
    assert thing["properties"]["createdAt"] == {"type": ["string", "null"], "format": "date-time"}
    assert thing["properties"]["limit"] == {"type": ["integer", "null"], "format": "int32"}
    assert thing["properties"]["labels"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    assert thing["properties"]["inner"] == {"$ref": "#/components/schemas/test.gateway.v1.Inner"}


async def test_descriptions_come_from_the_proto_comments(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    operation = document["paths"]["/v1/capabilities"]["get"]
    assert operation["summary"] == "Capabilities returns the current snapshot."
    assert "`GET /v1/capabilities`" in operation["description"]
    snapshot = document["components"]["schemas"]["orloj.extensions.v1.CapabilitySnapshot"]
    assert "CapabilitySnapshot" in snapshot["description"]
    assert "Feature name -> enabled" in snapshot["properties"]["features"]["description"]
    tags = {tag["name"]: tag for tag in document["tags"]}
    assert set(tags) == {
        "AuditQueryService",
        "CapabilityProvider",
        "ExtensionLogsService",
        "Extensions",
        "CatalogAdminService",
        "ExtensionRegistryService",
        "InstallRegistryService",
        "MeteringQueryService",
        "SecretsAdminService",
    }
    assert "deployment" in tags["CapabilityProvider"]["description"]


async def test_the_document_passes_an_openapi_3_1_validator(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    validate(document)
    validate(openapi_document(thing_bindings(), title="t", version="0"))


async def test_the_export_is_a_secured_streamed_download(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    export = document["paths"]["/v1/audit/export"]["get"]
    assert export["operationId"] == "AuditQueryService_ExportAuditEvents"
    ok = export["responses"]["200"]
    assert set(ok["content"]) == {"application/x-ndjson", "text/csv"}
    assert ok["content"]["text/csv"]["schema"] == {"type": "string", "format": "binary"}
    assert "cuts the transfer short" in ok["description"]
    assert export["security"] == [{"bearerAuth": []}]
    assert set(export["responses"]) == {"200", "401", "403", "default"}
    # The buf lint directive in the proto comment stays out of the description.
    assert "buf:lint" not in json.dumps(document)
    assert "serves the bytes as they are." in export["description"]
    # What OpenAPI cannot declare is said in the description.
    assert "`end_time` must be after `start_time`" in export["description"]

    parameters = {p["name"]: p for p in export["parameters"]}
    assert parameters["format"]["schema"]["enum"][:3] == ["unspecified", "jsonl", "csv"]
    assert "AUDIT_EXPORT_FORMAT_CSV" in parameters["format"]["schema"]["enum"]
    assert parameters["startTime"]["schema"] == {
        "type": "string",
        "format": "date-time",
        "pattern": TIMESTAMP_PATTERN,
    }
    assert parameters["actor"]["description"] == "Only this actor; empty matches any."
    # What the protos bound, the schema says (extplane.options.v1.bounds).
    assert parameters["actor"]["schema"] == {
        "type": "string",
        "maxLength": 256,
        "pattern": NO_CONTROL_PATTERN,
    }
    assert parameters["outcome"]["schema"] == {
        "type": "string",
        "enum": ["", "allowed", "denied", "error"],
    }


async def test_declared_bounds_and_required_parameters_reach_the_schema(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()

    def parameters(path: str) -> dict[str, Any]:
        return {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}

    usage, events = parameters("/v1/metering/usage"), parameters("/v1/metering/events")
    verify = parameters("/v1/audit/verify")
    assert usage["startTime"]["required"] is True
    assert "required" not in usage["endTime"]
    assert events["pageSize"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 0,
        "maximum": 2**31 - 1,
    }
    assert verify["fromSequence"]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 0,
        "maximum": 2**63 - 1,
    }
    assert events["pageToken"]["schema"]["maxLength"] == 512
    validate(document)  # still a valid OpenAPI 3.1 document


async def test_the_admin_schemas_state_what_the_host_refuses(gateway: Gateway) -> None:
    """What schemathesis found on the admin routes: each refusal is now in the schema."""
    document = (await gateway.client.get("/openapi.json")).json()
    install = "/v1/admin/tenants/{tenant}/installs/{install_id}"

    # A path parameter keeps its field's bounds, as a body or query field does.
    path_parameters = {
        p["name"]: p["schema"] for p in document["paths"][install]["get"]["parameters"]
    }
    assert path_parameters["install_id"] == {
        "type": "string",
        "maxLength": 128,
        "pattern": NO_CONTROL_PATTERN,
        "minLength": 1,
    }
    # REQUIRED refuses "" (proto3 cannot tell it from unset).
    load = document["paths"]["/v1/admin/tenants/{tenant}/clients:load"]["post"]
    load_body = load["requestBody"]["content"]["application/json"]["schema"]
    assert load_body["properties"]["content"]["minLength"] == 1
    # body "*": what the path sets may be left out of the body.
    assert "tenant" not in load_body.get("required", [])
    disable = document["paths"][f"{install}:disable"]["post"]
    disable_body = disable["requestBody"]["content"]["application/json"]["schema"]
    assert {"tenant", "installId"}.isdisjoint(disable_body.get("required", []))
    # ... and the body's copy of a path-set field is any string (the path's is taken).
    assert disable_body["properties"]["installId"]["type"] == "string"
    assert {"maxLength", "pattern", "minLength"}.isdisjoint(disable_body["properties"]["installId"])
    # A `specified` enum does not offer its zero name.
    assert load_body["properties"]["format"]["enum"] == [
        "CATALOG_FILE_FORMAT_JSON",
        "CATALOG_FILE_FORMAT_CSV",
    ]
    # The path sets everything :enable requires: no body at all is a request too.
    assert "required" not in document["paths"][f"{install}:enable"]["post"]["requestBody"]
    assert load["requestBody"]["required"] is True
    # protojson reads null as unset for a proto3 optional scalar.
    update = document["paths"][install]["patch"]
    update_body = update["requestBody"]["content"]["application/json"]["schema"]
    assert update_body["properties"]["version"]["type"] == ["string", "null"]
    assert update_body["properties"]["revision"]["type"] == "integer"
    validate(document)


def test_the_timestamp_pattern_keeps_to_what_a_timestamp_holds() -> None:
    pattern = re.compile(TIMESTAMP_PATTERN)
    inside = [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T05:00:00-01:00",
        "2026-11-21T01:00:00+01:00",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T20:00:00+01:00",
    ]
    outside = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.5-01:00"]
    assert [bool(pattern.search(v)) for v in inside] == [True] * len(inside)
    assert [bool(pattern.search(v)) for v in outside] == [False, False]


async def test_the_query_routes_require_a_bearer_token_and_capabilities_do_not(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    secured = {
        (verb, path)
        for path, operations in document["paths"].items()
        for verb, operation in operations.items()
        if operation.get("security") == [{"bearerAuth": []}]
    }
    installs = "/v1/admin/tenants/{tenant}/installs"
    assert secured == {
        ("get", "/v1/metering/usage"),
        ("get", "/v1/metering/events"),
        ("get", "/v1/audit/events"),
        ("get", "/v1/audit/export"),
        ("get", "/v1/audit/verify"),
        ("get", "/v1/audit/checkpoints"),
        ("get", "/v1/audit/public-key"),
        ("post", installs),
        ("get", f"{installs}/{{install_id}}"),
        ("patch", f"{installs}/{{install_id}}"),
        ("post", f"{installs}/{{install_id}}:disable"),
        ("post", f"{installs}/{{install_id}}:enable"),
        ("post", f"{installs}/{{install_id}}:issueToken"),
        ("get", f"{installs}/{{install_id}}/logs"),
        ("get", "/v1/admin/installs"),
        ("put", f"{installs}/{{install_id}}/secrets/{{key}}"),
        ("delete", f"{installs}/{{install_id}}/secrets/{{key}}"),
        ("get", f"{installs}/{{install_id}}/secrets"),
        ("post", "/v1/admin/tenants/{tenant}/clients:load"),
        ("post", "/v1/admin/tenants/{tenant}/services:load"),
        ("get", "/v1/admin/tenants/{tenant}/catalog"),
        *(
            (verb, "/v1/extensions/{install_id}/{path}")
            for verb in ("get", "post", "put", "patch", "delete")
        ),
        ("post", "/v1/admin/extensions/{extension_id}/versions"),
        ("get", "/v1/admin/extensions/{extension_id}/versions/{version}"),
        ("get", "/v1/admin/extensions"),
    }
    # The JWKS is public keys: no token.
    assert "security" not in document["paths"]["/v1/admin/jwks.json"]["get"]
    capabilities = document["paths"]["/v1/capabilities"]["get"]
    assert "security" not in capabilities
    assert "401" not in capabilities["responses"]


async def test_a_repeated_enum_parameter_is_an_array_of_spellings(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    usage = document["paths"]["/v1/metering/usage"]["get"]
    group_by = next(p for p in usage["parameters"] if p["name"] == "groupBy")
    assert group_by["schema"]["type"] == "array"
    # `specified` in the proto: the placeholder value is no choice.
    assert group_by["schema"]["items"]["enum"] == [
        "namespace",
        "task",
        "agent",
        "model",
        "USAGE_DIMENSION_NAMESPACE",
        "USAGE_DIMENSION_TASK",
        "USAGE_DIMENSION_AGENT",
        "USAGE_DIMENSION_MODEL",
        "1",
        "2",
        "3",
        "4",
    ]
    assert group_by["schema"]["uniqueItems"] is True
    assert "Repeat the parameter" in group_by["description"]


def test_streams_of_messages_and_raw_answers_in_a_richer_service() -> None:
    document = openapi_document(thing_bindings(), title="t", version="0")
    paths: Any = document["paths"]
    watch = paths["/v1/watch"]["get"]["responses"]["200"]["content"]
    line = watch["application/x-ndjson"]["schema"]
    assert line["properties"]["result"] == {"$ref": "#/components/schemas/test.gateway.v1.Thing"}
    assert line["properties"]["error"] == {"$ref": "#/components/schemas/google.rpc.Status"}
    raw = paths["/v1/raw"]["get"]["responses"]["200"]["content"]
    assert raw == {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    assert "securitySchemes" not in document["components"]  # type: ignore[operator]
    secured = openapi_document(
        thing_bindings(),
        title="t",
        version="0",
        bearer_services={"test.gateway.v1.ThingService"},
        download_media_types={"test.gateway.v1.ThingService.GetRaw": ["text/plain"]},
    )
    validate(secured)
    secured_paths: Any = secured["paths"]
    raw_get = secured_paths["/v1/raw"]["get"]
    assert set(raw_get["responses"]["200"]["content"]) == {"text/plain"}
    assert raw_get["security"] == [{"bearerAuth": []}]


async def test_bearer_services_come_from_the_settings(upstream: Upstream) -> None:
    settings = GatewaySettings(port=0, bearer_services=["orloj.extensions.v1.CapabilityProvider"])
    gateway = await open_gateway(upstream.address, settings=settings)
    try:
        document = (await gateway.client.get("/openapi.json")).json()
    finally:
        await close_gateway(gateway)
    validate(document)
    assert document["paths"]["/v1/capabilities"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in document["paths"]["/v1/audit/export"]["get"]


async def test_a_oneof_takes_one_of_its_fields(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    upload = document["paths"]["/v1/admin/extensions/{extension_id}/versions"]["post"]
    body = upload["requestBody"]["content"]["application/json"]["schema"]
    # protojson refuses a body setting both handlers, so the schema does too.
    assert body["not"] == {"anyOf": [{"required": ["component", "grpcAddress"]}]}
    validate(document)
