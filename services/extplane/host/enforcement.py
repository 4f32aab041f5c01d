"""Capability enforcement in one place: a grpc.aio server interceptor.

For every RPC of a host interface (`contract.HOST_REQUIREMENTS`, read from the
descriptors) it verifies the install token in the `x-extplane-install-token`
metadata entry, refuses a call whose token lacks the interface's capability,
and runs the handler with the verified claims in `current_install()`. Each
refusal for a missing capability is also an audit event (`denial_audit`).
Handlers never check capabilities, and cannot forget to. Services without the
`required_capability` option (health, reflection, the guest's
HandlerService) pass through untouched.

A refusal aborts the call here, so the interceptor answers correctly on any
grpc.aio server; behind the kit's observing interceptor it is counted and
logged like any other ending.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeAlias, cast

import grpc
import grpc.aio
from grpc_status import rpc_status

from extplane.errors import ExtplaneServerError, UnauthenticatedError
from extplane.host.claims import InstallClaims
from extplane.host.contract import HOST_REQUIREMENTS, Requirement
from extplane.host.denial import CapabilityDeniedError
from extplane.host.denial_audit import denial_event
from extplane.host.verifier import InstallTokenVerifier
from extplane_client.audit_sink import AuditSink, NoopAuditSink

# A dedicated entry rather than `authorization`: the caller's own credential
# (an operator or runner bearer token) travels there, and neither may ever be
# taken for the other.
TOKEN_METADATA_KEY = "x-extplane-install-token"

_Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
_Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
_Behavior = Callable[[Any, _Context], Any]

_current: ContextVar[InstallClaims | None] = ContextVar("extplane_install", default=None)

_FACTORIES: dict[tuple[bool, bool], Callable[..., _Handler]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def current_install() -> InstallClaims:
    """The verified install of the RPC being handled.

    Raises UnauthenticatedError outside an enforced call, so a servicer
    mounted without the interceptor fails closed.
    """
    claims = _current.get()
    if claims is None:
        raise UnauthenticatedError("no verified install token for this call")
    return claims


def install_token(metadata: Any) -> str:
    """The one install token of a call's metadata; UNAUTHENTICATED otherwise."""
    found = [value for key, value in metadata or () if key == TOKEN_METADATA_KEY]
    if not found:
        raise UnauthenticatedError(f"install token: missing (metadata {TOKEN_METADATA_KEY})")
    if len(found) > 1 or not isinstance(found[0], str):
        raise UnauthenticatedError(f"install token: send exactly one {TOKEN_METADATA_KEY}")
    return found[0]


class CapabilityEnforcement(grpc.aio.ServerInterceptor):
    """`audit` receives a `capability_deny` event per refused capability (docs/host.md)."""

    def __init__(
        self,
        verifier: InstallTokenVerifier,
        requirements: Mapping[str, Requirement] = HOST_REQUIREMENTS,
        *,
        audit: AuditSink | None = None,
    ) -> None:
        self.verifier = verifier
        self._requirements = requirements
        self._audit: AuditSink = audit if audit is not None else NoopAuditSink()
        self._wrapped: dict[str, tuple[_Handler, _Handler]] = {}

    def authorize(self, requirement: Requirement, metadata: Any) -> InstallClaims:
        """The call's verified claims, or the refusal the caller gets."""
        claims = self.verifier.verify(install_token(metadata))
        if not claims.grants(requirement.capability):
            self._audit.record(denial_event(claims, requirement))
            raise CapabilityDeniedError(requirement)
        return claims

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[_Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> _Handler | None:
        handler = await continuation(handler_call_details)
        path = handler_call_details.method
        requirement = self._requirements.get(path)
        if handler is None or requirement is None:
            return handler
        known = self._wrapped.get(path)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap(handler, requirement)
        # Bounded by the contract: only host RPC paths get here.
        self._wrapped[path] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: _Handler, requirement: Requirement) -> _Handler:
        behavior = _behavior_of(handler)
        authorize = self.authorize

        async def enforced(request: Any, context: _Context) -> Any:
            token = _current.set(await _authorized(authorize, requirement, context))
            try:
                result = behavior(request, context)
                return await result if inspect.isawaitable(result) else result
            finally:
                _current.reset(token)

        async def enforced_stream(request: Any, context: _Context) -> AsyncIterator[Any]:
            claims = await _authorized(authorize, requirement, context)
            token = _current.set(claims)
            try:
                async for response in behavior(request, context):
                    yield response
            finally:
                _current.reset(token)

        make = _FACTORIES[(handler.request_streaming, handler.response_streaming)]
        return make(
            enforced_stream if inspect.isasyncgenfunction(behavior) else enforced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _authorized(
    authorize: Callable[[Requirement, Any], InstallClaims],
    requirement: Requirement,
    context: _Context,
) -> InstallClaims:
    try:
        return authorize(requirement, context.invocation_metadata())
    except ExtplaneServerError as refusal:
        await context.abort_with_status(rpc_status.to_status(refusal.status_proto()))
        raise  # abort_with_status always raises; this line is for the type checker


def _behavior_of(handler: _Handler) -> _Behavior:
    if handler.request_streaming:
        behavior = handler.stream_stream if handler.response_streaming else handler.stream_unary
    else:
        behavior = handler.unary_stream if handler.response_streaming else handler.unary_unary
    return cast(_Behavior, behavior)
