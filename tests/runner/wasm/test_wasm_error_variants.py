"""Every error variant of every import reaches the guest as its WIT error, and every
record of the world crosses the runner both ways (scripted providers).

`clients.get-client` and `services.get-service` (`result<option<record>, E>`)
are the functions wasmtime-py 50 cannot lower an error for by itself
(runner/wasm/lowering.py); they are covered like the rest.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from scripted_providers import Providers, scripted_providers
from wasm_support import job, response, run

from extplane.runner.wasm import values
from extplane.runner.wasm.bindings import BINDINGS
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import types_pb2

# The first session builds and compiles the guest (a minute on a busy machine).
pytestmark = pytest.mark.timeout(900)

ARGS: dict[str, list[Any]] = {
    "secrets.get": ["k"],
    "http.fetch": [{"method": "GET", "url": "https://api.example.test/x", "headers": [["a", "1"]]}],
    "storage.get": ["n", "k"],
    "storage.put": [{"namespace": "n", "key": "k", "value": "dg==", "revision": 3}],
    "storage.delete": ["n", "k"],
    "storage.list": ["n", "after"],
    "ui-proxy.call": ["route/a", "cGF5"],
    "user.get-user": [],
    "user-v2.get-user": [],
    "clients.list-clients": [{"search": "ac", "page": 1}],
    "clients.get-client": ["c-1"],
    "services.list-services": [{"item_kind": "service", "billing_method": "hourly"}],
    "services.get-service": ["s-1"],
}


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    async with scripted_providers() as scripted:
        yield scripted


async def results(providers: Providers, token: str, names: list[str]) -> list[dict[str, Any]]:
    body = json.dumps({"calls": [[name, *ARGS[name]] for name in names]}).encode()
    outcome = await run(job("imports", body, address=providers.address, token=token))
    assert outcome.host_calls == len(names)
    found: list[dict[str, Any]] = json.loads(response(outcome).body)["results"]
    return found


@pytest.mark.parametrize("variant", alga_errors.error_variants(), ids=lambda v: v.name)
async def test_every_error_variant_reaches_the_guest(providers: Providers, variant: Any) -> None:
    names = [b.name for b in BINDINGS if b.error_enum is variant.type]
    assert names, f"no import uses {variant.type.name}"
    case = values.enum_case(variant.type, variant.number)
    assert await results(providers, f"variant:{variant.name}", names) == [{"err": case}] * len(
        names
    )


async def test_records_cross_both_ways(providers: str) -> None:
    names = [
        "http.fetch",
        "ui-proxy.call",
        "clients.get-client",
        "clients.list-clients",
        "services.get-service",
        "services.list-services",
        "user-v2.get-user",
    ]
    fetched, proxied, client, clients, service, services, user = await results(
        providers, "ok", names
    )
    assert fetched["ok"] == {
        "status": 201,
        "headers": [{"name": "x-a", "value": "1"}],
        "body": {"b64": base64.b64encode(b"made").decode()},
    }
    assert proxied["ok"] == {"b64": base64.b64encode(b"\x00proxied").decode()}
    assert client["ok"]["client_name"] == "Acme"
    assert client["ok"]["is_inactive"] is True
    assert client["ok"]["client_type"] is None
    assert client["ok"]["billing_email"] == "billing@acme.test"
    assert clients["ok"]["items"] == [client["ok"]]
    assert clients["ok"]["page_size"] == 50
    assert service["ok"]["item_kind"] == "product"
    assert service["ok"]["billing_method"] == "usage"
    assert service["ok"]["default_rate"] == 12.5
    assert service["ok"]["service_type_id"] is None
    assert services["ok"]["items"] == [service["ok"]]
    assert user["ok"]["additional_fields"] == [["team", "a"], ["team", "b"]]
    assert user["ok"]["client_id"] is None


async def test_an_unset_option_is_none(providers: str) -> None:
    got = await results(providers, "none", ["clients.get-client", "services.get-service"])
    assert got == [{"ok": None}, {"ok": None}]


async def test_guest_arguments_reach_the_provider_as_the_contract_maps_them(
    providers: Providers,
) -> None:
    names = [
        "http.fetch",
        "storage.put",
        "storage.list",
        "ui-proxy.call",
        "clients.list-clients",
        "services.list-services",
    ]
    await results(providers, "none", names)
    got = dict(providers.received)
    fetch = got["HttpService.Fetch"].request  # type: ignore[attr-defined]
    assert (fetch.method, fetch.url) == ("GET", "https://api.example.test/x")
    assert [(h.name, h.value) for h in fetch.headers] == [("a", "1")]
    assert not fetch.HasField("body")
    entry = got["StorageService.Put"].entry  # type: ignore[attr-defined]
    assert (entry.namespace, entry.key, entry.value, entry.revision) == ("n", "k", b"v", 3)
    listed = got["StorageService.List"]
    assert listed.cursor == "after"  # type: ignore[attr-defined]
    assert not listed.HasField("page_size")
    call = got["UiProxyService.Call"]
    assert (call.route, call.payload) == ("route/a", b"pay")  # type: ignore[attr-defined]
    clients = got["ClientsService.ListClients"].input  # type: ignore[attr-defined]
    assert (clients.search, clients.page) == ("ac", 1)
    assert not clients.HasField("include_inactive")
    assert not clients.HasField("page_size")
    services = got["ServicesService.ListServices"].input  # type: ignore[attr-defined]
    assert services.item_kind == types_pb2.SERVICE_ITEM_KIND_SERVICE
    assert services.billing_method == types_pb2.SERVICE_BILLING_METHOD_HOURLY
    assert not services.HasField("is_active")
