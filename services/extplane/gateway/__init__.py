"""The HTTP/JSON gateway: routes from `google.api.http` annotations to gRPC.

Conventions are grpc-gateway's: protojson bodies, path templates and query
parameters mapped to request fields, gRPC status -> HTTP status, and a
`google.rpc.Status` body for every error.
"""

from extplane.gateway.app import create_app
from extplane.gateway.channels import UpstreamChannels
from extplane.gateway.config import GatewaySettings
from extplane.gateway.errors import (
    HTTP_STATUS_BY_GRPC_CODE,
    BindingError,
    GatewayError,
    RequestError,
    http_status_for,
)
from extplane.gateway.metrics import GatewayMetrics
from extplane.gateway.registry import HttpBinding, load_bindings
from extplane.gateway.server import GatewayServer
from extplane.gateway.types import HeaderMatcher, UpstreamResolver

__all__ = [
    "HTTP_STATUS_BY_GRPC_CODE",
    "BindingError",
    "GatewayError",
    "GatewayMetrics",
    "GatewayServer",
    "GatewaySettings",
    "HeaderMatcher",
    "HttpBinding",
    "RequestError",
    "UpstreamChannels",
    "UpstreamResolver",
    "create_app",
    "http_status_for",
    "load_bindings",
]
