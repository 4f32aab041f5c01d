"""The capability matrix against the REAL host service, on both backends:
HostService with its own providers and enforcement on a real server, installs
registered and tokens issued through its registry, its audit events delivered
to a real audit sink service.

For every RPC of every Alga service HostService serves (read from the
descriptors): a token granting only that RPC's capability gets the provider's
own answer (success, or the domain answer the request asks for) and no audit
event; a token granting every other capability gets the interface's denial
per docs/contracts.md, and exactly one `capability_deny` audit event.

A newly served service fails `test_every_served_rpc_has_a_request` until its
requests are added to REQUESTS (and leaves NOT_YET_SERVED).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from alga_descriptors import alga_services
from google.protobuf.message import Message
from host_support import ALL_CAPABILITIES, error_info
from matrix_support import HOST_METHODS, call_rpc, capability_of, expected_denial
from real_host import RealHost, serve_real_host, served_service_names

from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    clients_pb2,
    context_pb2,
    http_pb2,
    logging_pb2,
    secrets_pb2,
    services_pb2,
    storage_pb2,
    types_pb2,
    ui_proxy_pb2,
    user_pb2,
    user_v2_pb2,
)
from extplane_protos.extplane.admin.v1 import installs_pb2
from tests.adapter.sinks import SinkLog, serve_audit

TENANT = "tenant-m"
GRANTED = "granted"  # the install granted only the RPC's capability
REFUSED = "refused"  # the install granted every capability but that one
USER = installs_pb2.InstallTokenUser(user_id="user-m", user_name="Mia")


@dataclass(frozen=True)
class Case:
    """A minimal valid request of one RPC, and what the real provider answers it."""

    request: Message
    # None: OK; else the Alga error variant the provider answers (a domain answer).
    answer: str | None = None
    # What a user would check of the OK reply, given the host that answered.
    check: Callable[[RealHost, Any], None] | None = None
    # The audit events (actions) the granted call itself records; a denial is never one.
    audits: tuple[str, ...] = ()


def _context(host: RealHost, reply: Any) -> None:
    assert (reply.context.tenant_id, reply.context.install_id) == (TENANT, GRANTED)


def _user(host: RealHost, reply: Any) -> None:
    assert (reply.user.tenant_id, reply.user.user_id, reply.user.user_name) == (
        TENANT,
        "user-m",
        "Mia",
    )


def _stored(host: RealHost, reply: Any) -> None:
    assert (reply.entry.namespace, reply.entry.key, reply.entry.revision) == ("ns", "k", 1)


def _empty_list(host: RealHost, reply: Any) -> None:
    assert list(reply.entries) == []
    assert not reply.HasField("next_cursor")


def _no_secrets(host: RealHost, reply: Any) -> None:
    assert list(reply.keys) == []


def _no_clients(host: RealHost, reply: Any) -> None:
    assert (list(reply.result.items), reply.result.total_count) == ([], 0)


def _no_client(host: RealHost, reply: Any) -> None:
    assert not reply.HasField("client")  # an unknown id is the empty option


def _no_services(host: RealHost, reply: Any) -> None:
    assert (list(reply.result.items), reply.result.total_count) == ([], 0)


def _no_service(host: RealHost, reply: Any) -> None:
    assert not reply.HasField("service")


def _logged(level: str) -> Callable[[RealHost, Any], None]:
    def check(host: RealHost, reply: Any) -> None:
        [record] = host.service.logs.recent.of(TENANT, GRANTED)
        assert (record.level, record.message) == (level, f"matrix {level}")

    return check


_ALGA = "alga.extension.v1"
REQUESTS: dict[str, Case] = {
    f"{_ALGA}.ContextService.GetContext": Case(context_pb2.GetContextRequest(), check=_context),
    f"{_ALGA}.UserService.GetUser": Case(user_pb2.UserServiceGetUserRequest(), check=_user),
    f"{_ALGA}.UserV2Service.GetUser": Case(user_v2_pb2.UserV2ServiceGetUserRequest(), check=_user),
    f"{_ALGA}.StorageService.Get": Case(
        storage_pb2.StorageServiceGetRequest(namespace="ns", key="k"),
        answer="STORAGE_ERROR_MISSING",
    ),
    f"{_ALGA}.StorageService.Put": Case(
        storage_pb2.StorageServicePutRequest(
            entry=types_pb2.StorageEntry(namespace="ns", key="k", value=b"v")
        ),
        check=_stored,
    ),
    f"{_ALGA}.StorageService.Delete": Case(
        storage_pb2.StorageServiceDeleteRequest(namespace="ns", key="k"),
        answer="STORAGE_ERROR_MISSING",
    ),
    f"{_ALGA}.StorageService.List": Case(
        storage_pb2.StorageServiceListRequest(namespace="ns"), check=_empty_list
    ),
    f"{_ALGA}.SecretsService.Get": Case(
        secrets_pb2.SecretsServiceGetRequest(key="API_KEY"), answer="SECRET_ERROR_MISSING"
    ),
    f"{_ALGA}.SecretsService.List": Case(
        secrets_pb2.SecretsServiceListRequest(), check=_no_secrets
    ),
    f"{_ALGA}.ClientsService.ListClients": Case(
        clients_pb2.ListClientsRequest(), check=_no_clients
    ),
    f"{_ALGA}.ClientsService.GetClient": Case(
        clients_pb2.GetClientRequest(client_id="c-1"), check=_no_client
    ),
    f"{_ALGA}.ServicesService.ListServices": Case(
        services_pb2.ListServicesRequest(), check=_no_services
    ),
    f"{_ALGA}.ServicesService.GetService": Case(
        services_pb2.GetServiceRequest(service_id="s-1"), check=_no_service
    ),
    # No egress allowlist: the provider's own answer is its deny-by-default.
    f"{_ALGA}.HttpService.Fetch": Case(
        http_pb2.HttpServiceFetchRequest(
            request=types_pb2.HttpRequest(method="GET", url="https://api.example.com/")
        ),
        answer="HTTP_ERROR_NOT_ALLOWED",
        audits=("egress_deny",),
    ),
    f"{_ALGA}.LoggingService.Info": Case(
        logging_pb2.LoggingServiceInfoRequest(message="matrix info"), check=_logged("info")
    ),
    f"{_ALGA}.LoggingService.Warn": Case(
        logging_pb2.LoggingServiceWarnRequest(message="matrix warn"), check=_logged("warn")
    ),
    f"{_ALGA}.LoggingService.Error": Case(
        logging_pb2.LoggingServiceErrorRequest(message="matrix error"), check=_logged("error")
    ),
    # The install has no routes: the proxy's own answer, with nothing dialled.
    f"{_ALGA}.UiProxyService.Call": Case(
        ui_proxy_pb2.UiProxyServiceCallRequest(route="reports"),
        answer="PROXY_ERROR_ROUTE_NOT_FOUND",
        audits=("ui_proxy_deny",),
    ),
}

# Alga services HostService does not serve yet. Shrinks as each provider lands:
# move a service out of here by serving it and adding its RPCs to REQUESTS.
NOT_YET_SERVED = frozenset(
    f"{_ALGA}.{name}"
    for name in (
        "HandlerService",  # the guest's own interface: the host never serves it
    )
)

SERVED = served_service_names()
SERVED_RPCS = sorted(
    name for name, method in HOST_METHODS.items() if method.containing_service.full_name in SERVED
)


def test_the_alga_services_not_served_yet() -> None:
    alga = {service.full_name for service in alga_services()}
    landed = NOT_YET_SERVED & SERVED
    assert not landed, f"served now: remove {sorted(landed)} from NOT_YET_SERVED"
    assert alga - SERVED == NOT_YET_SERVED, "an Alga service is neither served nor listed"


def test_every_served_rpc_has_a_request() -> None:
    missing = set(SERVED_RPCS) - set(REQUESTS)
    assert not missing, f"add a Case to REQUESTS for each newly served RPC: {sorted(missing)}"
    assert set(REQUESTS) == set(SERVED_RPCS), "REQUESTS names RPCs HostService does not serve"
    # Every served Alga service is enforced: none is served without its capability.
    assert all(
        capability_of(method) for method in HOST_METHODS.values() if method.full_name in REQUESTS
    )


def _variant(error: grpc.aio.AioRpcError) -> str | None:
    found = alga_errors.variant_from_error(error)
    return None if found is None else found.name


@pytest.mark.parametrize("rpc", SERVED_RPCS)
async def test_the_real_provider_answers_with_its_capability_and_is_denied_without(
    rpc: str, database_url: str, tmp_path: Path
) -> None:
    method = HOST_METHODS[rpc]
    capability = capability_of(method)
    assert capability is not None
    case = REQUESTS[rpc]
    log = SinkLog()
    with serve_audit(log) as audit_address:
        async with serve_real_host(
            database_url, tmp_path / "data", audit_address=audit_address, audit=log
        ) as host:
            granted = await host.install(TENANT, GRANTED, [capability], user=USER)
            refused = await host.install(
                TENANT, REFUSED, sorted(ALL_CAPABILITIES - {capability}), user=USER
            )
            before = await host.audit_delivered()

            if case.answer is None:
                reply = await call_rpc(host.channel, method, granted, case.request)
                if case.check is not None:
                    case.check(host, reply)
            else:
                with pytest.raises(grpc.aio.AioRpcError) as answered:
                    await call_rpc(host.channel, method, granted, case.request)
                assert _variant(answered.value) == case.answer, answered.value
                assert "not granted" not in (answered.value.details() or "")
            granted_events = await host.audit_delivered()
            assert granted_events[: len(before)] == before
            # A granted call is no capability denial; its own events are the case's.
            assert [e.action for e in granted_events[len(before) :]] == list(case.audits)
            before = granted_events

            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call_rpc(host.channel, method, refused, case.request)
            after = await host.audit_delivered()

    denied = raised.value
    assert denied.code() is grpc.StatusCode.PERMISSION_DENIED
    assert capability in (denied.details() or "")
    info = error_info(denied)
    assert info is not None
    assert (info.reason, info.domain) == expected_denial(method)
    assert info.metadata["capability"] == capability
    if info.domain == alga_errors.ERROR_DOMAIN:
        assert _variant(denied) == info.reason  # the runner maps it back losslessly

    [event] = after[len(before) :]
    assert after[: len(before)] == before
    assert (event.action, event.outcome) == ("capability_deny", "denied")
    assert event.actor == f"extension/com.example.{REFUSED}@{REFUSED}"
    assert event.resource == rpc  # the interface and the function
    assert event.namespace == TENANT
    assert event.details["capability"] == capability
    assert event.details["install"] == REFUSED
