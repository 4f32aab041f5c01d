"""Guest: calls the imports the request body lists and answers JSON of what it saw.

Body: {"calls": [["storage.get", "ns", "key"], ...]}. Each result is
{"ok": value} or {"err": "<wit case>"}; a call the host traps ends the execution.
"""

import base64
import dataclasses
import enum
import json

import wit_world
from wit_world import Err
from wit_world.imports import (
    clients,
    context,
    http,
    logging,
    secrets,
    services,
    storage,
    types,
    ui_proxy,
    user,
    user_v2,
)


def plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name.lower().replace("_", "-")
    if isinstance(value, (bytes, bytearray)):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def raw(text):
    return None if text is None else base64.b64decode(text)


def case(name, kind):
    return None if name is None else kind[name.upper().replace("-", "_")]


def fetch(request):
    return http.fetch(
        types.HttpRequest(
            method=request["method"],
            url=request["url"],
            headers=[types.HttpHeader(name=n, value=v) for n, v in request.get("headers", [])],
            body=raw(request.get("body")),
        )
    )


def put(entry):
    return storage.put(
        types.StorageEntry(
            namespace=entry["namespace"],
            key=entry["key"],
            value=raw(entry["value"]),
            revision=entry.get("revision"),
        )
    )


def list_clients(given):
    return clients.list_clients(
        types.ClientsListInput(
            search=given.get("search"),
            include_inactive=given.get("include_inactive"),
            page=given.get("page"),
            page_size=given.get("page_size"),
        )
    )


def list_services(given):
    return services.list_services(
        types.ServicesListInput(
            search=given.get("search"),
            item_kind=case(given.get("item_kind"), types.ServiceItemKind),
            is_active=given.get("is_active"),
            billing_method=case(given.get("billing_method"), types.ServiceBillingMethod),
            page=given.get("page"),
            page_size=given.get("page_size"),
        )
    )


CALLS = {
    "context.get-context": context.get_context,
    "secrets.get": secrets.get,
    "secrets.list": secrets.list,
    "http.fetch": fetch,
    "storage.get": storage.get,
    "storage.put": put,
    "storage.delete": storage.delete,
    "storage.list": storage.list,
    "logging.info": logging.info,
    "logging.warn": logging.warn,
    "logging.error": logging.error,
    "ui-proxy.call": lambda route, payload: ui_proxy.call(route, raw(payload)),
    "user.get-user": user.get_user,
    "user-v2.get-user": user_v2.get_user,
    "clients.list-clients": list_clients,
    "clients.get-client": clients.get_client,
    "services.list-services": list_services,
    "services.get-service": services.get_service,
}


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        print("imports guest: handling", request.http.method, request.http.url)
        asked = json.loads(request.http.body or b"{}")
        results = []
        for name, *args in asked.get("calls", []):
            try:
                results.append({"ok": plain(CALLS[name](*args))})
            except Err as err:
                results.append({"err": plain(err.value)})
        body = json.dumps({"request": plain(request), "results": results}).encode()
        return types.ExecuteResponse(
            status=200,
            headers=[types.HttpHeader(name="content-type", value="application/json")],
            body=body,
        )
