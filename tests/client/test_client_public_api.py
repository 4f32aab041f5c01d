"""The public surface of extplane_client, pinned: a change here is a change for users."""

from __future__ import annotations

import grpc

import extplane_client
from extplane_client import CapabilitiesError, ExtplaneError


def test_public_names_are_pinned() -> None:
    assert sorted(extplane_client.__all__) == [
        "AuditSink",
        "CapabilitiesClient",
        "CapabilitiesError",
        "CapabilitySnapshot",
        "DeliveryOptions",
        "DeliveryStats",
        "ExtplaneError",
        "GrpcAuditSink",
        "GrpcMeteringSink",
        "MeteringSink",
        "NoopAuditSink",
        "NoopMeteringSink",
    ]
    for name in extplane_client.__all__:
        assert getattr(extplane_client, name).__module__.startswith("extplane_client.")


def test_every_client_error_shares_one_root_carrying_the_status_code() -> None:
    error = CapabilitiesError(grpc.StatusCode.UNAVAILABLE, "nothing listens")
    assert isinstance(error, ExtplaneError)
    assert error.code is grpc.StatusCode.UNAVAILABLE
    assert str(error) == "UNAVAILABLE: nothing listens"
