"""gRPC status -> HTTP status, and the `google.rpc.Status` error body.

The table follows grpc-gateway's `HTTPStatusFromCode`; a test pins that it
covers every `grpc.StatusCode`. Upstream failures are converted here, at the
boundary, so no transport detail (addresses, library messages) reaches a client.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from extplane.errors import ExtplaneServerError, StartupError
from extplane.runtime import LogBudget
from extplane_client.errors import status_code_from_number, status_code_number

# Imported for its side effect: the standard detail types (ErrorInfo, BadRequest,
# ...) must be in the default pool so their Any payloads render as JSON.
_ = error_details_pb2

logger = logging.getLogger(__name__)
_UPSTREAM_FAILURES_LOGGED = LogBudget()

HTTP_STATUS_BY_GRPC_CODE: Mapping[grpc.StatusCode, int] = MappingProxyType(
    {
        grpc.StatusCode.OK: 200,
        # Not an IANA status: nginx's "client closed request", as grpc-gateway uses.
        grpc.StatusCode.CANCELLED: 499,
        grpc.StatusCode.UNKNOWN: 500,
        grpc.StatusCode.INVALID_ARGUMENT: 400,
        grpc.StatusCode.DEADLINE_EXCEEDED: 504,
        grpc.StatusCode.NOT_FOUND: 404,
        grpc.StatusCode.ALREADY_EXISTS: 409,
        grpc.StatusCode.PERMISSION_DENIED: 403,
        grpc.StatusCode.UNAUTHENTICATED: 401,
        grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
        # Deliberately 400, not 412: the precondition is about system state, not
        # about HTTP conditional headers (grpc-gateway's choice, kept).
        grpc.StatusCode.FAILED_PRECONDITION: 400,
        grpc.StatusCode.ABORTED: 409,
        grpc.StatusCode.OUT_OF_RANGE: 400,
        grpc.StatusCode.UNIMPLEMENTED: 501,
        grpc.StatusCode.INTERNAL: 500,
        grpc.StatusCode.UNAVAILABLE: 503,
        grpc.StatusCode.DATA_LOSS: 500,
    }
)

# Codes a gRPC library produces by itself (a refused connection, an unhandled
# exception in a servicer). Without a rich status attached they are treated as
# transport or crash reports whose text may name addresses or stack frames.
_OPAQUE_WITHOUT_DETAILS = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.DATA_LOSS,
    }
)


def http_status_for(code: grpc.StatusCode | int) -> int:
    """The HTTP status for a gRPC code; an unknown code is logged and answered 500."""
    resolved = status_code_from_number(code) if isinstance(code, int) else code
    status = HTTP_STATUS_BY_GRPC_CODE.get(resolved) if resolved is not None else None
    if status is None:
        logger.error("unknown gRPC status code %r mapped to HTTP 500", code)
        return 500
    return status


class GatewayError(ExtplaneServerError):
    """Root of every error the gateway raises."""


class BindingError(GatewayError, StartupError):
    """A `google.api.http` annotation the gateway cannot serve (found at start)."""


class RequestError(GatewayError):
    """A request answered with a `google.rpc.Status` body instead of a response.

    `http_status` overrides the table for the few answers HTTP has a better word
    for (404 unknown path, 405 wrong method, 413 body too large).
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        details: Sequence[any_pb2.Any] = (),
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.http_status = http_status if http_status is not None else http_status_for(code)

    def body(self) -> bytes:
        return status_json(status_code_number(self.code), self.message, self.details)

    def retry_after_s(self) -> int | None:
        """Whole seconds of a `google.rpc.RetryInfo` detail (a busy upstream), if any."""
        for detail in self.details:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                delay = info.retry_delay
                return max(0, delay.seconds + (1 if delay.nanos > 0 else 0))
        return None


def invalid_argument(message: str, *, field: str | None = None) -> RequestError:
    """INVALID_ARGUMENT; with `field` (as the client spelled it), a `google.rpc.BadRequest`
    detail names it too, so a client can point at the input without parsing the message."""
    if field is None:
        return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message, details=[detail])


# gRPC's own wording (every implementation) for a message over a channel's
# limit: RESOURCE_EXHAUSTED, but about the transport, not a quota.
_MESSAGE_TOO_LARGE = re.compile(r"(?:received|sent|message) .*larger than (?:the )?max", re.I)


def request_error_from_rpc(error: grpc.aio.AioRpcError, service: str) -> RequestError:
    """Convert an upstream failure, keeping what the upstream chose to tell the client."""
    code = error.code()
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and _MESSAGE_TOO_LARGE.search(
        error.details() or ""
    ):
        # Not a quota to back off from (429), and the transport's text is not the
        # client's business: the call could not be carried.
        if _UPSTREAM_FAILURES_LOGGED.admit((service, code)) is not None:
            logger.warning("upstream %s: %s", service, error.details())
        return RequestError(
            code, f"the answer of upstream {service} is too large to carry", http_status=502
        )
    try:
        rich = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:
        logger.warning("upstream %s sent a status detail that contradicts its status", service)
        rich = None
    if rich is None and code in _OPAQUE_WITHOUT_DETAILS:
        # A client can cause these at will (a request that crashes the upstream).
        held_back = _UPSTREAM_FAILURES_LOGGED.admit((service, code))
        if held_back is not None:
            logger.warning(
                "upstream %s failed: %s %s%s",
                service,
                code.name,
                error.details() or "(no message)",
                f" ({held_back} more like it not logged)" if held_back else "",
            )
        word = "unavailable" if code is grpc.StatusCode.UNAVAILABLE else "failed"
        return RequestError(code, f"upstream {service} {word}")
    if rich is None:
        return RequestError(code, error.details() or "")
    return RequestError(code, rich.message, details=rich.details)


def _detail_to_json(detail: any_pb2.Any) -> dict[str, object]:
    try:
        rendered: dict[str, object] = json_format.MessageToDict(detail)
    except (TypeError, KeyError, json_format.Error):
        # A detail type this process has no descriptor for: keep it, opaque.
        rendered = {"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()}
    return rendered


def status_json(code: int, message: str, details: Iterable[any_pb2.Any]) -> bytes:
    """`google.rpc.Status` as protojson, with every field present."""
    body = {
        "code": code,
        "message": message,
        "details": [_detail_to_json(detail) for detail in details],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
