"""The server half of the service kit: what every extplane server stands on.

Serving: `GrpcServer` (health, reflection, graceful drain, tracing, metrics and
RPC logs around a `GrpcServiceDefinition`), `run_until_signal`, `create_channel`.
Building a stateful service: `ServiceKit` (authorizer, page tokens, metrics
registry, clock — one per process), `Serving` (the one "is it serving?"
state), `RetentionLoop`, `SinkSettings`/`StatefulServiceSettings`,
`once_per_registry` for metric families, `TimeWindow` and
`validate_one`/`validate_batch` for a sink's all-or-nothing ingest and
`ServiceKit.writer_guard` for who may write (`WriterGuard`); `bounds`
for what a request's protos declare (`bounds.check(request)` at the boundary,
`bounds.range_bound_ns` for a query's time range); `LogBudget` for log lines
a client can cause. TLS (docs/tls.md): `TlsSettings` for servers (`GrpcServer`
takes them; `server_credentials` and `ReloadingSslContext` reload rotated
files), `ClientTls` for every outbound channel (`create_channel(…, tls=)`),
`client_certificate`/`client_certificate_subject` for who an mTLS caller is. Refusing: raise an
`extplane.errors.ExtplaneServerError` — `InvalidRequestError` naming the
field, `BadPageTokenError`, `NotServingError`, … — and the runtime answers
with its status. `docs/services.md` is the guide.
"""

from extplane.runtime import bounds
from extplane.runtime.auth import (
    AUDIT_READER,
    EXTENSIONS_DISPATCH,
    EXTENSIONS_EXECUTE,
    INSTALLS_ADMIN,
    INSTALLS_ISSUER,
    INSTALLS_READER,
    METERING_READER,
    Authorizer,
    AuthSettings,
    BearerToken,
)
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.channels import CHANNEL_OPTIONS, create_channel, remaining_timeout
from extplane.runtime.event_rules import (
    TimeWindow,
    text_problem,
    timestamp_problem,
    validate_batch,
    validate_one,
)
from extplane.runtime.kit import ServiceKit
from extplane.runtime.lifecycle import AsyncLifecycle, Drainable, Lifecycle
from extplane.runtime.log_budget import LogBudget
from extplane.runtime.logs import configure_logging
from extplane.runtime.metrics_endpoint import MetricsEndpoint
from extplane.runtime.observing import RpcCall, RpcObserver, RpcOutcome
from extplane.runtime.page_tokens import BadPageTokenError, PageTokens
from extplane.runtime.paging import MAX_PAGE_SIZE, Page, fill_page, page_size
from extplane.runtime.peer_identity import (
    ClientCertificate,
    client_certificate,
    client_certificate_subject,
)
from extplane.runtime.process_metrics import process_metrics
from extplane.runtime.retention import RetentionLoop
from extplane.runtime.rpc_metrics import Metrics
from extplane.runtime.server import GrpcServer, host_port
from extplane.runtime.server_credentials import server_credentials
from extplane.runtime.server_ssl_context import ReloadingSslContext
from extplane.runtime.service import GrpcServiceDefinition
from extplane.runtime.service_settings import SinkSettings, StatefulServiceSettings, port_field
from extplane.runtime.serving import Serving
from extplane.runtime.signals import run_until_signal
from extplane.runtime.timestamps import NS_PER_S, datetime_ns, rfc3339
from extplane.runtime.tls import TlsSettings
from extplane.runtime.tracing import configure_tracing
from extplane.runtime.writers import (
    ANONYMOUS,
    AUDIT_WRITER,
    METERING_WRITER,
    IngestPolicy,
    WriterGuard,
    is_loopback_host,
)
from extplane_client._metric_families import once_per_registry
from extplane_client.tls import ClientTls

__all__ = [
    "ANONYMOUS",
    "AUDIT_READER",
    "AUDIT_WRITER",
    "CHANNEL_OPTIONS",
    "EXTENSIONS_DISPATCH",
    "EXTENSIONS_EXECUTE",
    "INSTALLS_ADMIN",
    "INSTALLS_ISSUER",
    "INSTALLS_READER",
    "MAX_PAGE_SIZE",
    "METERING_READER",
    "METERING_WRITER",
    "NS_PER_S",
    "AsyncLifecycle",
    "AuthSettings",
    "Authorizer",
    "BadPageTokenError",
    "BearerToken",
    "ClientCertificate",
    "ClientTls",
    "Drainable",
    "FieldViolation",
    "GrpcServer",
    "GrpcServiceDefinition",
    "IngestPolicy",
    "InvalidRequestError",
    "Lifecycle",
    "LogBudget",
    "Metrics",
    "MetricsEndpoint",
    "Page",
    "PageTokens",
    "ReloadingSslContext",
    "RetentionLoop",
    "RpcCall",
    "RpcObserver",
    "RpcOutcome",
    "ServiceKit",
    "Serving",
    "SinkSettings",
    "StatefulServiceSettings",
    "TimeWindow",
    "TlsSettings",
    "WriterGuard",
    "bounds",
    "client_certificate",
    "client_certificate_subject",
    "configure_logging",
    "configure_tracing",
    "create_channel",
    "datetime_ns",
    "fill_page",
    "host_port",
    "is_loopback_host",
    "once_per_registry",
    "page_size",
    "port_field",
    "process_metrics",
    "remaining_timeout",
    "rfc3339",
    "run_until_signal",
    "server_credentials",
    "text_problem",
    "timestamp_problem",
    "validate_batch",
    "validate_one",
]
