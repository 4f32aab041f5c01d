"""`alga.extension.v1.ClientsService` and `ServicesService`: the calling
tenant's catalogs, read-only.

The tenant comes from the verified install token (`current_install()`); no
request field names one, so no id, search or filter reaches another
tenant's rows. Out-of-range input is the interface's `invalid-input` variant
(its message names the field); an id the tenant does not hold is the empty
option, never an error; a store failure is the `internal` variant.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc.aio

from extplane.host.alga_error import AlgaVariantError
from extplane.host.catalogs.model import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_SEARCH_LENGTH,
    BillingMethod,
    Client,
    ClientsQuery,
    ItemKind,
    Page,
    Service,
    ServicesQuery,
)
from extplane.host.catalogs.store import CatalogStore
from extplane.host.enforcement import current_install
from extplane.runtime import Serving
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    clients_pb2,
    clients_pb2_grpc,
    services_pb2,
    services_pb2_grpc,
    types_pb2,
)

_Context = grpc.aio.ServicerContext[Any, Any]
CLIENTS_SERVICE: str = clients_pb2.DESCRIPTOR.services_by_name["ClientsService"].full_name
SERVICES_SERVICE: str = services_pb2.DESCRIPTOR.services_by_name["ServicesService"].full_name
MAX_ID_LENGTH = 128
T = TypeVar("T")

_KINDS = {
    types_pb2.SERVICE_ITEM_KIND_SERVICE: ItemKind.SERVICE,
    types_pb2.SERVICE_ITEM_KIND_PRODUCT: ItemKind.PRODUCT,
}
_KIND_PROTO = {kind: number for number, kind in _KINDS.items()}
_BILLING = {
    types_pb2.SERVICE_BILLING_METHOD_FIXED: BillingMethod.FIXED,
    types_pb2.SERVICE_BILLING_METHOD_HOURLY: BillingMethod.HOURLY,
    types_pb2.SERVICE_BILLING_METHOD_USAGE: BillingMethod.USAGE,
}
_BILLING_PROTO = {method: number for number, method in _BILLING.items()}

_logger = logging.getLogger(__name__)


class _Errors:
    """One interface's variants: `invalid-input` and `internal`."""

    def __init__(self, enum: Any, invalid: int, internal: int) -> None:
        self._invalid = alga_errors.variant(enum, invalid)
        self._internal = alga_errors.variant(enum, internal)

    def invalid(self, field: str, why: str) -> AlgaVariantError:
        return AlgaVariantError(self._invalid, f"{field}: {why}")

    async def guarded(self, call: Awaitable[T]) -> T:
        """The store's answer; its failure as `internal` (logged, never detailed)."""
        try:
            return await call
        except Exception:
            _logger.exception("the catalog store failed")
            raise AlgaVariantError(self._internal, "the host's catalog store failed") from None


_CLIENT_ERRORS = _Errors(
    types_pb2.ClientReadError,
    types_pb2.CLIENT_READ_ERROR_INVALID_INPUT,
    types_pb2.CLIENT_READ_ERROR_INTERNAL,
)
_SERVICE_ERRORS = _Errors(
    types_pb2.ServiceReadError,
    types_pb2.SERVICE_READ_ERROR_INVALID_INPUT,
    types_pb2.SERVICE_READ_ERROR_INTERNAL,
)


def _page(given: Any, errors: _Errors) -> Page:
    page = given.page if given.HasField("page") else 1
    size = given.page_size if given.HasField("page_size") else DEFAULT_PAGE_SIZE
    if page < 1:
        raise errors.invalid("input.page", "must be at least 1 (pages count from 1)")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise errors.invalid("input.page_size", f"must be 1-{MAX_PAGE_SIZE}")
    return Page(page, size)


def _search(given: Any, errors: _Errors) -> str | None:
    if not given.HasField("search"):
        return None
    if len(given.search) > MAX_SEARCH_LENGTH:
        raise errors.invalid("input.search", f"at most {MAX_SEARCH_LENGTH} characters")
    return str(given.search)


def _ident(field: str, value: str, errors: _Errors) -> str:
    if not value:
        raise errors.invalid(field, "required")
    if len(value) > MAX_ID_LENGTH:
        raise errors.invalid(field, f"at most {MAX_ID_LENGTH} characters")
    return value


def client_proto(client: Client) -> types_pb2.ClientSummary:
    return types_pb2.ClientSummary(
        client_id=client.client_id,
        client_name=client.client_name,
        client_type=client.client_type,
        is_inactive=client.is_inactive,
        default_currency_code=client.default_currency_code,
        account_manager_id=client.account_manager_id,
        account_manager_name=client.account_manager_name,
        billing_email=client.billing_email,
    )


def service_proto(service: Service) -> types_pb2.ServiceSummary:
    return types_pb2.ServiceSummary(
        service_id=service.service_id,
        service_name=service.service_name,
        item_kind=_KIND_PROTO[service.item_kind],
        billing_method=_BILLING_PROTO[service.billing_method],
        service_type_id=service.service_type_id,
        service_type_name=service.service_type_name,
        default_rate=service.default_rate,
        unit_of_measure=service.unit_of_measure,
        is_active=service.is_active,
        sku=service.sku,
    )


class ClientsServicer(clients_pb2_grpc.ClientsServiceServicer):
    def __init__(self, serving: Serving[CatalogStore]) -> None:
        # UNAVAILABLE (NotServingError) until the host has opened the store.
        self._serving = serving

    async def ListClients(  # noqa: N802 - the generated servicer's name
        self, request: clients_pb2.ListClientsRequest, context: _Context
    ) -> clients_pb2.ListClientsResponse:
        tenant = current_install().tenant_id
        given = request.input
        query = ClientsQuery(
            search=_search(given, _CLIENT_ERRORS),
            include_inactive=given.include_inactive,
            page=_page(given, _CLIENT_ERRORS),
        )
        found = await _CLIENT_ERRORS.guarded(self._serving.current.list_clients(tenant, query))
        result = types_pb2.ClientsListResult(
            items=[client_proto(c) for c in found.items],
            total_count=found.total_count,
            page=query.page.page,
            page_size=query.page.size,
        )
        return clients_pb2.ListClientsResponse(result=result)

    async def GetClient(  # noqa: N802
        self, request: clients_pb2.GetClientRequest, context: _Context
    ) -> clients_pb2.GetClientResponse:
        tenant = current_install().tenant_id
        client_id = _ident("client_id", request.client_id, _CLIENT_ERRORS)
        found = await _CLIENT_ERRORS.guarded(self._serving.current.get_client(tenant, client_id))
        if found is None:
            return clients_pb2.GetClientResponse()
        return clients_pb2.GetClientResponse(client=client_proto(found))


def _kind(given: types_pb2.ServicesListInput) -> ItemKind | None:
    if not given.HasField("item_kind"):
        return None
    if given.item_kind not in _KINDS:
        raise _SERVICE_ERRORS.invalid("input.item_kind", "must be SERVICE or PRODUCT")
    return _KINDS[given.item_kind]


def _billing(given: types_pb2.ServicesListInput) -> BillingMethod | None:
    if not given.HasField("billing_method"):
        return None
    if given.billing_method not in _BILLING:
        raise _SERVICE_ERRORS.invalid("input.billing_method", "must be FIXED, HOURLY or USAGE")
    return _BILLING[given.billing_method]


class ServicesServicer(services_pb2_grpc.ServicesServiceServicer):
    def __init__(self, serving: Serving[CatalogStore]) -> None:
        # UNAVAILABLE (NotServingError) until the host has opened the store.
        self._serving = serving

    async def ListServices(  # noqa: N802 - the generated servicer's name
        self, request: services_pb2.ListServicesRequest, context: _Context
    ) -> services_pb2.ListServicesResponse:
        tenant = current_install().tenant_id
        given = request.input
        query = ServicesQuery(
            search=_search(given, _SERVICE_ERRORS),
            item_kind=_kind(given),
            is_active=given.is_active if given.HasField("is_active") else None,
            billing_method=_billing(given),
            page=_page(given, _SERVICE_ERRORS),
        )
        found = await _SERVICE_ERRORS.guarded(self._serving.current.list_services(tenant, query))
        result = types_pb2.ServicesListResult(
            items=[service_proto(s) for s in found.items],
            total_count=found.total_count,
            page=query.page.page,
            page_size=query.page.size,
        )
        return services_pb2.ListServicesResponse(result=result)

    async def GetService(  # noqa: N802
        self, request: services_pb2.GetServiceRequest, context: _Context
    ) -> services_pb2.GetServiceResponse:
        tenant = current_install().tenant_id
        service_id = _ident("service_id", request.service_id, _SERVICE_ERRORS)
        found = await _SERVICE_ERRORS.guarded(self._serving.current.get_service(tenant, service_id))
        if found is None:
            return services_pb2.GetServiceResponse()
        return services_pb2.GetServiceResponse(service=service_proto(found))
