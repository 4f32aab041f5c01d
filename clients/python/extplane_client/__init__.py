"""Typed Python clients and helpers for the extplane services.

Generated stubs live in `extplane_protos`; this package wraps them for
runtimes and tools: typed clients of the capability, metering query, audit
query, install and extension registry APIs, the runtime-side metering and
audit sinks (never blocking, never raising; docs/adapters.md), the Alga
error mapping, test doubles
(`extplane_client.testing`).
"""

from extplane_client.audit_query import AuditQueryClient, AuditQueryError
from extplane_client.audit_sink import AuditSink, GrpcAuditSink, NoopAuditSink
from extplane_client.audit_types import (
    AuditCheckpoint,
    AuditCheckpointsPage,
    AuditEventsPage,
    AuditPublicKey,
    AuditRecord,
    AuditTamper,
    AuditVerdict,
)
from extplane_client.capabilities import CapabilitiesClient, CapabilitiesError, CapabilitySnapshot
from extplane_client.catalogs import CatalogsClient, CatalogsError
from extplane_client.delivery import DeliveryOptions, DeliveryStats
from extplane_client.errors import ExtplaneError
from extplane_client.extension_logs import ExtensionLogsClient, ExtensionLogsError
from extplane_client.extensions import ExtensionsClient, ExtensionsError, ExtensionVersionsPage
from extplane_client.installs import InstallsClient, InstallsError, InstallsPage
from extplane_client.metering_query import (
    MeteringEventsPage,
    MeteringQueryClient,
    MeteringQueryError,
    StoredMeteringEvent,
    UsageBucket,
    UsageReport,
)
from extplane_client.metering_sink import GrpcMeteringSink, MeteringSink, NoopMeteringSink
from extplane_client.tls import ClientTls

__all__ = [
    "AuditCheckpoint",
    "AuditCheckpointsPage",
    "AuditEventsPage",
    "AuditPublicKey",
    "AuditQueryClient",
    "AuditQueryError",
    "AuditRecord",
    "AuditSink",
    "AuditTamper",
    "AuditVerdict",
    "CapabilitiesClient",
    "CapabilitiesError",
    "CapabilitySnapshot",
    "CatalogsClient",
    "CatalogsError",
    "ClientTls",
    "DeliveryOptions",
    "DeliveryStats",
    "ExtensionLogsClient",
    "ExtensionLogsError",
    "ExtensionVersionsPage",
    "ExtensionsClient",
    "ExtensionsError",
    "ExtplaneError",
    "GrpcAuditSink",
    "GrpcMeteringSink",
    "InstallsClient",
    "InstallsError",
    "InstallsPage",
    "MeteringEventsPage",
    "MeteringQueryClient",
    "MeteringQueryError",
    "MeteringSink",
    "NoopAuditSink",
    "NoopMeteringSink",
    "StoredMeteringEvent",
    "UsageBucket",
    "UsageReport",
]
