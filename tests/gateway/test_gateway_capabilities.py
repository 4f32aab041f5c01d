"""`GET /v1/capabilities` over real HTTP to a real gRPC upstream."""

from __future__ import annotations

import re

from gateway_servers import Gateway, Upstream

from extplane_protos.orloj.extensions.v1 import capabilities_pb2


async def test_the_body_is_the_snapshot_itself(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/capabilities")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "features": {"agents": True, "billing": False},
        "metadata": {"version": "1.2.3"},
    }


async def test_an_empty_snapshot_still_has_both_maps(gateway: Gateway, upstream: Upstream) -> None:
    upstream.provider.snapshot = capabilities_pb2.CapabilitySnapshot()
    response = await gateway.client.get("/v1/capabilities")
    assert response.json() == {"features": {}, "metadata": {}}


async def test_etag_revalidation(gateway: Gateway, upstream: Upstream) -> None:
    first = await gateway.client.get("/v1/capabilities")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "no-cache"

    again = await gateway.client.get("/v1/capabilities", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    weak = await gateway.client.get("/v1/capabilities", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304

    upstream.provider.snapshot.features["wasm"] = True
    changed = await gateway.client.get("/v1/capabilities", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["features"]["wasm"] is True
    assert changed.headers["etag"] != etag


async def test_equal_snapshots_get_equal_etags_whatever_the_map_order(
    gateway: Gateway, upstream: Upstream
) -> None:
    upstream.provider.snapshot = capabilities_pb2.CapabilitySnapshot(
        features={"a": True, "b": False, "c": True}
    )
    first = await gateway.client.get("/v1/capabilities")
    upstream.provider.snapshot = capabilities_pb2.CapabilitySnapshot(
        features={"c": True, "b": False, "a": True}
    )
    second = await gateway.client.get("/v1/capabilities")
    assert first.headers["etag"] == second.headers["etag"]


async def test_request_id_is_forwarded_and_echoed(gateway: Gateway, upstream: Upstream) -> None:
    response = await gateway.client.get("/v1/capabilities", headers={"X-Request-Id": "req-42.a"})
    assert response.headers["x-request-id"] == "req-42.a"
    assert upstream.provider.received[-1]["x-request-id"] == "req-42.a"


async def test_a_missing_or_insane_request_id_is_replaced(
    gateway: Gateway, upstream: Upstream
) -> None:
    absent = await gateway.client.get("/v1/capabilities")
    generated = absent.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert upstream.provider.received[-1]["x-request-id"] == generated

    insane = await gateway.client.get("/v1/capabilities", headers={"X-Request-Id": "a b;<script>"})
    replaced = insane.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert replaced != generated


async def test_authorization_and_grpc_metadata_headers_are_forwarded(
    gateway: Gateway, upstream: Upstream
) -> None:
    await gateway.client.get(
        "/v1/capabilities",
        headers={
            "Authorization": "Bearer t0ken",
            "Grpc-Metadata-Tenant": "acme",
            "Grpc-Metadata-Blob-Bin": "AAEC",
            "Grpc-Metadata-X-Request-Id": "forged",
            "X-Unrelated": "dropped",
        },
    )
    received = upstream.provider.received[-1]
    assert received["authorization"] == "Bearer t0ken"
    assert received["tenant"] == "acme"
    assert received["blob-bin"] == b"\x00\x01\x02"
    assert received["x-request-id"] != "forged"
    assert "x-unrelated" not in received
    assert received["x-forwarded-for"] == "127.0.0.1"


async def test_bad_metadata_headers_are_refused_by_name(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/v1/capabilities", headers={"Grpc-Metadata-Blob-Bin": "***"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == 'header "grpc-metadata-blob-bin": not valid base64'


async def test_upstream_header_metadata_comes_back_as_headers(
    gateway: Gateway, upstream: Upstream
) -> None:
    upstream.provider.reply_metadata = (("served-by", "replica-3"),)
    response = await gateway.client.get("/v1/capabilities")
    assert response.headers["grpc-metadata-served-by"] == "replica-3"


async def test_unknown_path_is_404_and_wrong_method_is_405(gateway: Gateway) -> None:
    missing = await gateway.client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"code": 5, "message": "not found", "details": []}
    assert "x-request-id" in missing.headers

    wrong = await gateway.client.post("/v1/capabilities", content=b"{}")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert wrong.json() == {"code": 12, "message": "method not allowed", "details": []}


async def test_unknown_query_parameter_is_400(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/capabilities", params={"verbose": "1"})
    assert response.status_code == 400
    assert response.json() == {
        "code": 3,
        "message": 'unknown query parameter "verbose"',
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {"field": "verbose", "description": 'unknown query parameter "verbose"'}
                ],
            }
        ],
    }
