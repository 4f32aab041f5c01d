"""`alga.extension.v1.StorageService`: the calling install's own entries.

The tenant and install come from the verified token (`current_install()`),
never from the request, so no namespace, key or cursor can reach another
install's rows. Failures are StorageError variants (`AlgaVariantError`);
malformed names and over-limit writes are INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

from typing import Any

import grpc.aio

from extplane.host.alga_error import AlgaVariantError
from extplane.host.enforcement import current_install
from extplane.host.installs.store import InstallStore
from extplane.host.storage.names import check_key, check_namespace, page_size
from extplane.host.storage.store import Address, Entry, Quota, Refusal
from extplane.runtime import InvalidRequestError
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import storage_pb2, storage_pb2_grpc, types_pb2

_Context = grpc.aio.ServicerContext[Any, Any]
STORAGE_SERVICE: str = storage_pb2.DESCRIPTOR.services_by_name["StorageService"].full_name


def _failure(number: int, message: str) -> AlgaVariantError:
    return AlgaVariantError(alga_errors.variant(types_pb2.StorageError, number), message)


def _missing(at: Address) -> AlgaVariantError:
    return _failure(types_pb2.STORAGE_ERROR_MISSING, f"no key {at.key!r} in {at.namespace!r}")


def _to_proto(entry: Entry) -> types_pb2.StorageEntry:
    return types_pb2.StorageEntry(
        namespace=entry.namespace, key=entry.key, value=entry.value, revision=entry.revision
    )


def _address(namespace: str, key: str, prefix: str = "") -> Address:
    install = current_install()
    return Address(
        install.tenant_id,
        install.install_id,
        check_namespace(f"{prefix}namespace", namespace),
        check_key(f"{prefix}key", key),
    )


class StorageServicer(storage_pb2_grpc.StorageServiceServicer):
    def __init__(self, store: InstallStore) -> None:
        self._store = store

    async def Get(  # noqa: N802 - the generated servicer's name
        self, request: storage_pb2.StorageServiceGetRequest, context: _Context
    ) -> storage_pb2.StorageServiceGetResponse:
        at = _address(request.namespace, request.key)
        found = await self._store.get_entry(at)
        if found is None:
            raise _missing(at)
        return storage_pb2.StorageServiceGetResponse(entry=_to_proto(found))

    async def Put(  # noqa: N802
        self, request: storage_pb2.StorageServicePutRequest, context: _Context
    ) -> storage_pb2.StorageServicePutResponse:
        entry = request.entry
        at = _address(entry.namespace, entry.key, "entry.")
        install = await self._store.get(at.tenant, at.install_id)
        if install is None:
            # A token of an install this registry does not hold: refuse, never guess limits.
            raise _failure(types_pb2.STORAGE_ERROR_DENIED, "this install is not registered")
        limits = install.settings.limits
        if len(entry.value) > limits.storage_value_bytes:
            raise InvalidRequestError.field(
                "entry.value", f"at most {limits.storage_value_bytes} bytes for this install"
            )
        expected = entry.revision if entry.HasField("revision") else None
        quota = Quota(limits.storage_keys_per_namespace, limits.storage_bytes)
        stored = await self._store.put_entry(at, entry.value, expected, quota)
        if stored is Refusal.CONFLICT:
            raise _failure(
                types_pb2.STORAGE_ERROR_CONFLICT,
                f"entry.revision {expected} is not the stored revision of {at.key!r}",
            )
        if stored is Refusal.TOO_MANY_KEYS:
            raise InvalidRequestError.field(
                "entry.key",
                f"namespace {at.namespace!r} already holds its limit of "
                f"{limits.storage_keys_per_namespace} keys",
            )
        if stored is Refusal.TOO_MANY_BYTES:
            raise InvalidRequestError.field(
                "entry.value",
                f"this install's storage would exceed its limit of {limits.storage_bytes} bytes",
            )
        assert isinstance(stored, Entry)
        return storage_pb2.StorageServicePutResponse(entry=_to_proto(stored))

    async def Delete(  # noqa: N802
        self, request: storage_pb2.StorageServiceDeleteRequest, context: _Context
    ) -> storage_pb2.StorageServiceDeleteResponse:
        at = _address(request.namespace, request.key)
        if not await self._store.delete_entry(at):
            raise _missing(at)
        return storage_pb2.StorageServiceDeleteResponse()

    async def List(  # noqa: N802
        self, request: storage_pb2.StorageServiceListRequest, context: _Context
    ) -> storage_pb2.StorageServiceListResponse:
        install = current_install()
        namespace = check_namespace("namespace", request.namespace)
        # An empty cursor is the start, as an unset one (a guest's "no last key yet").
        cursor = request.cursor if request.HasField("cursor") and request.cursor else None
        if cursor is not None:
            check_key("cursor", cursor)
        size = page_size(request.page_size if request.HasField("page_size") else None)
        # One more than the page: whether it exists is whether more entries follow.
        found = await self._store.list_entries(
            install.tenant_id, install.install_id, namespace, cursor, size + 1
        )
        page = found[:size]
        reply = storage_pb2.StorageServiceListResponse(entries=[_to_proto(e) for e in page])
        if len(found) > size:
            reply.next_cursor = page[-1].key
        return reply
