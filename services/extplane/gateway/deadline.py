"""The deadline of one upstream call.

`GatewaySettings.request_timeout_s` bounds every call. A client may ask for a
shorter one with `Grpc-Timeout` (gRPC's own format, e.g. `500m`, `2S`, as
grpc-gateway accepts) or `X-Request-Timeout` (seconds, e.g. `2.5`); the smallest
of the three wins. A client can never lengthen the deadline: the configured one
protects the gateway and the upstream from calls held open at will.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from extplane.gateway.errors import invalid_argument

GRPC_TIMEOUT_HEADER = "grpc-timeout"
REQUEST_TIMEOUT_HEADER = "x-request-timeout"

_GRPC_TIMEOUT = re.compile(r"(?P<amount>[0-9]{1,8})(?P<unit>[HMSmun])")
_SECONDS_PER_UNIT = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def parse_grpc_timeout(value: str) -> float:
    found = _GRPC_TIMEOUT.fullmatch(value.strip())
    if found is None:
        raise invalid_argument(
            f'header "Grpc-Timeout": {value!r} is not a gRPC timeout such as "500m" or "2S"'
        )
    seconds = int(found.group("amount")) * _SECONDS_PER_UNIT[found.group("unit")]
    if seconds <= 0:
        raise invalid_argument('header "Grpc-Timeout": must be greater than zero')
    return seconds


def parse_request_timeout(value: str) -> float:
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise invalid_argument(
            f'header "X-Request-Timeout": {value!r} is not a positive number of seconds'
        )
    return seconds


def call_timeout_s(headers: Mapping[str, str], configured_s: float) -> float:
    """The upstream call's timeout: the configured one, shortened by the client's headers."""
    timeout = configured_s
    if (grpc_timeout := headers.get(GRPC_TIMEOUT_HEADER)) is not None:
        timeout = min(timeout, parse_grpc_timeout(grpc_timeout))
    if (request_timeout := headers.get(REQUEST_TIMEOUT_HEADER)) is not None:
        timeout = min(timeout, parse_request_timeout(request_timeout))
    return timeout
