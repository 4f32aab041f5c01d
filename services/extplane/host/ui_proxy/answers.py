"""What a call answers, as the WIT `proxy-error` variants (docs/host.md, ui-proxy):

| upstream | answer |
|---|---|
| 2xx | the body, as the payload |
| 401, 403, 429 | `denied` |
| any other 4xx | `bad-request` |
| 1xx, 3xx (redirects are not followed), 5xx, no answer, timeout, oversized | `internal` |

Messages name the upstream's status or the kind of failure, never its body.
"""

from __future__ import annotations

from extplane.host.alga_error import AlgaVariantError
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import types_pb2

DENYING_STATUSES = frozenset({401, 403, 429})


def proxy_error(number: int, message: str) -> AlgaVariantError:
    return AlgaVariantError(alga_errors.variant(types_pb2.ProxyError, number), message)


def route_not_found(message: str) -> AlgaVariantError:
    return proxy_error(types_pb2.PROXY_ERROR_ROUTE_NOT_FOUND, message)


def bad_request(message: str) -> AlgaVariantError:
    return proxy_error(types_pb2.PROXY_ERROR_BAD_REQUEST, message)


def internal(message: str) -> AlgaVariantError:
    return proxy_error(types_pb2.PROXY_ERROR_INTERNAL, message)


def answered(status: int, body: bytes) -> bytes:
    """The payload of a 2xx answer; the variant of any other."""
    if 200 <= status < 300:
        return body
    if status in DENYING_STATUSES:
        raise proxy_error(types_pb2.PROXY_ERROR_DENIED, f"the upstream answered {status}")
    if 400 <= status < 500:
        raise bad_request(f"the upstream answered {status}")
    raise internal(f"the upstream answered {status}")
