"""`GET /openapi.json`: OpenAPI 3.1 generated from the descriptors."""

from __future__ import annotations

from typing import Any

from gateway_servers import Gateway
from gateway_support import thing_bindings
from openapi_spec_validator import validate

from extplane.gateway.openapi import openapi_document


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
        "schema": {"type": "string"},
    }
    assert parameters["createdAt"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["inner.count"]["schema"] == {"type": "string", "format": "int64"}
    assert parameters["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert parameters["color"]["schema"] == {"$ref": "#/components/schemas/test.gateway.v1.Color"}
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
    assert thing["properties"]["createdAt"] == {"type": "string", "format": "date-time"}
    assert thing["properties"]["limit"] == {"type": "integer", "format": "int32"}
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
    (tag,) = document["tags"]
    assert tag["name"] == "CapabilityProvider"
    assert "deployment" in tag["description"]


async def test_the_document_passes_an_openapi_3_1_validator(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    validate(document)
    validate(openapi_document(thing_bindings(), title="t", version="0"))
