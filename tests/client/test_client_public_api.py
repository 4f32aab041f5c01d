"""The public surface of extplane_client, pinned: a change here is a change for users."""

from __future__ import annotations

import grpc
import pytest

import extplane_client
from extplane_client import (
    AuditQueryError,
    CapabilitiesError,
    ExtplaneError,
    MeteringQueryError,
)


def test_public_names_are_pinned() -> None:
    assert sorted(extplane_client.__all__) == [
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
    for name in extplane_client.__all__:
        assert getattr(extplane_client, name).__module__.startswith("extplane_client.")


@pytest.mark.parametrize("error_type", [CapabilitiesError, MeteringQueryError, AuditQueryError])
def test_every_client_error_shares_one_root_carrying_the_status_code(
    error_type: type[ExtplaneError],
) -> None:
    error = error_type(grpc.StatusCode.UNAVAILABLE, "nothing listens")
    assert isinstance(error, ExtplaneError)
    assert error.code is grpc.StatusCode.UNAVAILABLE
    assert str(error) == "UNAVAILABLE: nothing listens"
    assert dict(error.field_violations) == {}
