"""The gRPC face of the runner: `alga.extension.v1.HandlerService.Execute`.

No open execute: the caller's bearer token must hold `extensions.execute`
and name the tenant it acts for (`auth.tokens[].tenant`); that tenant, not
anything in the request, decides whose install runs. A trusted service that
acts for every tenant (the host's ui-proxy) holds `extensions.dispatch`
instead and names the tenant in `ExecuteRequest.context.tenant_id`. An `idempotency-key`
metadata entry makes retries safe (`idempotency`). The answer's initial
metadata carries the execution's request id (`x-extplane-request-id`), and
`idempotent-replayed: true` when it is a replay.

Every refusal of a known caller, trap and limit hit is audited (`events`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import grpc

from extplane.errors import ExtplaneServerError, PermissionDeniedError, UnauthenticatedError
from extplane.runner.errors import ExecutionError
from extplane.runner.events import DENIED, ERROR, Execution, audit_event
from extplane.runner.idempotency import METADATA_KEY, IdempotencyStore, checked_key, fingerprint
from extplane.runner.pipeline import Answer, ExecutionRecord, Pipeline
from extplane.runtime import (
    EXTENSIONS_DISPATCH,
    EXTENSIONS_EXECUTE,
    Authorizer,
    BearerToken,
    InvalidRequestError,
    Serving,
)
from extplane_client import AuditSink
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
REQUEST_ID_KEY = "x-extplane-request-id"
REPLAYED_KEY = "idempotent-replayed"
# Refusals of the caller's request (audited as `denied`); any other code is an error.
_REFUSALS = frozenset(
    {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
)
# Install ids and tenants share one shape (the install registry's).
_INSTALL_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _metadata_value(context: Context, key: str) -> str | None:
    return next(
        (str(value) for name, value in (context.invocation_metadata() or ()) if name == key),
        None,
    )


def _install_id(request: handler_pb2.ExecuteRequest) -> str:
    install_id = request.context.install_id
    if not request.context.HasField("install_id") or not install_id:
        raise InvalidRequestError.field("context.install_id", "required: the install to execute")
    if not _INSTALL_ID.fullmatch(install_id):
        raise InvalidRequestError.field("context.install_id", "must be 1-128 of A-Z a-z 0-9 . _ -")
    return install_id


def _tenant(token: BearerToken, request: handler_pb2.ExecuteRequest) -> str:
    """Whose install runs: the token's tenant; for a dispatching service (a token
    without one holding `extensions.dispatch`), the one the request names."""
    if token.tenant is not None:
        return token.tenant
    if not token.holds(EXTENSIONS_DISPATCH):
        raise PermissionDeniedError(
            f"token {token.name!r} names no tenant; {EXTENSIONS_EXECUTE!r} needs one "
            f"(auth.tokens[].tenant), or the token needs {EXTENSIONS_DISPATCH!r}"
        )
    tenant = request.context.tenant_id
    if not _INSTALL_ID.fullmatch(tenant):
        raise InvalidRequestError.field(
            "context.tenant_id",
            "a dispatching caller names the tenant: 1-128 of A-Z a-z 0-9 . _ -",
        )
    return tenant


def _check_http(request: handler_pb2.ExecuteRequest, max_body: int) -> None:
    if not request.http.method:
        raise InvalidRequestError.field("http.method", "required")
    if len(request.http.body) > max_body:
        raise InvalidRequestError.field("http.body", f"exceeds {max_body} bytes")


class HandlerServicer(handler_pb2_grpc.HandlerServiceServicer):
    def __init__(
        self,
        serving: Serving[Pipeline],
        authorizer: Authorizer,
        audit: AuditSink,
        idempotency: IdempotencyStore[Answer],
        max_request_bytes: int,
    ) -> None:
        self._serving = serving
        self._authorizer = authorizer
        self._audit = audit
        self._idempotency = idempotency
        self._max_request_bytes = max_request_bytes

    async def Execute(  # noqa: N802 - the generated servicer names the RPC method
        self, request: handler_pb2.ExecuteRequest, context: Context
    ) -> handler_pb2.ExecuteResponse:
        pipeline = self._serving.current
        record = ExecutionRecord(
            Execution(request_id="", actor="", tenant="", install_id=request.context.install_id)
        )
        try:
            answer, replayed = await self._execute(pipeline, request, context, record)
        except UnauthenticatedError:
            raise
        except ExtplaneServerError as refusal:
            self._record_refusal(record.execution, refusal)
            raise
        metadata = [(REQUEST_ID_KEY, answer.request_id)]
        if replayed:
            metadata.append((REPLAYED_KEY, "true"))
        await context.send_initial_metadata(tuple(metadata))
        return answer.response

    async def _execute(
        self,
        pipeline: Pipeline,
        request: handler_pb2.ExecuteRequest,
        context: Context,
        record: ExecutionRecord,
    ) -> tuple[Answer, bool]:
        known = self._authorizer.identify(context)
        if known is not None:
            # A refusal of a known caller is audited under its name from here on.
            record.execution = Execution(
                request_id="",
                actor=known.name,
                tenant=known.tenant or "",
                install_id=request.context.install_id,
            )
        token = self._authorizer.token_of(context, (EXTENSIONS_EXECUTE, EXTENSIONS_DISPATCH))
        tenant = _tenant(token, request)
        record.execution = replace(record.execution, tenant=tenant)
        install_id = _install_id(request)
        _check_http(request, self._max_request_bytes)
        key = checked_key(_metadata_value(context, METADATA_KEY))

        async def run() -> Answer:
            return await pipeline.execute(request, record, context.time_remaining)

        if key is None:
            return await run(), False
        return await self._idempotency.run((tenant, install_id, key), fingerprint(request), run)

    def _record_refusal(self, execution: Execution, refusal: ExtplaneServerError) -> None:
        if not execution.actor:
            return
        details = {"code": refusal.code.name, "message": str(refusal)}
        if isinstance(refusal, ExecutionError):
            details["cause"] = refusal.cause
            reason, outcome = refusal.reason, ERROR
        else:
            reason = refusal.code.name
            outcome = DENIED if refusal.code in _REFUSALS else ERROR
        self._audit.record(audit_event(execution, outcome=outcome, reason=reason, details=details))
