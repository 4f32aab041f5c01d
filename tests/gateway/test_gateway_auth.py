"""Bearer tokens over HTTP: the gateway forwards Authorization, the services decide.

The query fakes check the `authorization` metadata as the real services do;
the gateway turns UNAUTHENTICATED into 401 with a bearer challenge and
PERMISSION_DENIED into 403.
"""

from __future__ import annotations

import pytest
from gateway_servers import Gateway, Upstream, close_gateway, open_gateway
from query_fakes import AUDIT_TOKEN, METERING_TOKEN, ROLELESS_TOKEN, bearer

from extplane.gateway import GatewaySettings
from extplane.gateway.challenge import bearer_challenge, sent_bearer_token

CHALLENGE = 'Bearer realm="extplane"'
INVALID_TOKEN = 'Bearer realm="extplane", error="invalid_token"'

# Every route of the two query services, with the token whose role it needs.
ROUTES = [
    ("/v1/metering/usage", METERING_TOKEN, {"start_time": "2026-11-21T00:00:00Z"}),
    ("/v1/metering/events", METERING_TOKEN, {}),
    ("/v1/audit/events", AUDIT_TOKEN, {}),
    ("/v1/audit/export", AUDIT_TOKEN, {"format": "csv"}),
    ("/v1/audit/verify", AUDIT_TOKEN, {}),
    ("/v1/audit/checkpoints", AUDIT_TOKEN, {}),
    ("/v1/audit/public-key", AUDIT_TOKEN, {}),
]
OTHER_ROLE = {METERING_TOKEN: AUDIT_TOKEN, AUDIT_TOKEN: METERING_TOKEN}


@pytest.mark.parametrize(("route", "token", "params"), ROUTES)
async def test_no_token_is_401_with_a_bare_challenge(
    gateway: Gateway, route: str, token: str, params: dict[str, str]
) -> None:
    response = await gateway.client.get(route, params=params)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "code": 16,
        "message": "a known bearer token is required",
        "details": [],
    }


@pytest.mark.parametrize(("route", "token", "params"), ROUTES)
async def test_an_unknown_token_is_401_invalid_token(
    gateway: Gateway, route: str, token: str, params: dict[str, str]
) -> None:
    response = await gateway.client.get(route, params=params, headers=bearer("forged"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_TOKEN


@pytest.mark.parametrize(("route", "token", "params"), ROUTES)
async def test_a_token_without_the_role_is_403(
    gateway: Gateway, route: str, token: str, params: dict[str, str]
) -> None:
    for other in (OTHER_ROLE[token], ROLELESS_TOKEN):
        response = await gateway.client.get(route, params=params, headers=bearer(other))
        assert response.status_code == 403
        assert "www-authenticate" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["code"] == 7


@pytest.mark.parametrize(("route", "token", "params"), ROUTES)
async def test_the_right_token_is_200(
    gateway: Gateway, route: str, token: str, params: dict[str, str]
) -> None:
    response = await gateway.client.get(route, params=params, headers=bearer(token))
    assert response.status_code == 200
    assert "www-authenticate" not in response.headers
    # Read with a credential: no cache may keep it (streamed downloads included).
    assert response.headers["cache-control"] == "no-store"
    if route != "/v1/audit/export":  # a stream has no ETag
        assert response.headers["etag"]  # what the client keeps itself it may revalidate


async def test_an_answer_read_without_a_credential_may_be_kept_and_revalidated(
    gateway: Gateway,
) -> None:
    plain = await gateway.client.get("/v1/capabilities")
    carried = await gateway.client.get("/v1/capabilities", headers=bearer(METERING_TOKEN))
    refused = await gateway.client.get("/v1/metering/events", headers=bearer("forged"))

    assert plain.headers["cache-control"] == "no-cache"
    assert carried.headers["cache-control"] == "no-store"
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"


async def test_the_authorization_header_reaches_the_service_as_sent(
    gateway: Gateway, upstream: Upstream
) -> None:
    await gateway.client.get("/v1/metering/events", headers=bearer(METERING_TOKEN))
    await gateway.client.get("/v1/audit/export", headers=bearer(AUDIT_TOKEN))
    assert upstream.metering.metadata[-1]["authorization"] == f"Bearer {METERING_TOKEN}"
    assert upstream.audit.metadata[-1]["authorization"] == f"Bearer {AUDIT_TOKEN}"


async def test_another_scheme_gets_the_bare_challenge(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/v1/audit/events", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE


async def test_the_realm_is_configurable(upstream: Upstream) -> None:
    gateway = await open_gateway(
        upstream.address, settings=GatewaySettings(port=0, auth_realm='acme "prod"')
    )
    try:
        response = await gateway.client.get("/v1/audit/verify", headers=bearer("forged"))
    finally:
        await close_gateway(gateway)
    assert response.headers["www-authenticate"] == (
        'Bearer realm="acme \\"prod\\"", error="invalid_token"'
    )


def test_what_counts_as_a_bearer_token() -> None:
    assert sent_bearer_token("Bearer abc")
    assert sent_bearer_token("bearer  abc ")
    assert not sent_bearer_token(None)
    assert not sent_bearer_token("Bearer")
    assert not sent_bearer_token("Bearer   ")
    assert not sent_bearer_token("Basic abc")
    assert bearer_challenge("x", token_sent=False) == 'Bearer realm="x"'


def test_a_realm_that_cannot_be_a_header_is_refused() -> None:
    with pytest.raises(ValueError, match="auth_realm"):
        GatewaySettings(auth_realm="line\nbreak")
