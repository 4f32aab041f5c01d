"""What the sink sends besides events: TLS, metadata, and its counters as metrics."""

from __future__ import annotations

import datetime
import ipaddress

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import CollectorRegistry

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from tests.adapter.sinks import (
    FAST,
    WAIT_S,
    SinkLog,
    audit_event,
    metering_event,
    metering_handlers,
    serve,
    serve_audit,
    serve_metering,
)
from tests.loopback import dead_address


def self_signed_certificate() -> tuple[bytes, bytes]:
    """A key and a certificate for 127.0.0.1, PEM, made for this test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "extplane test sink")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def test_events_reach_a_tls_sink_with_the_credentials_given() -> None:
    key, certificate = self_signed_certificate()
    server_credentials = grpc.ssl_server_credentials([(key, certificate)])
    log = SinkLog()
    with serve(metering_handlers(log, batch=True), credentials=server_credentials) as address:
        sink = GrpcMeteringSink(
            address,
            options=FAST,
            credentials=grpc.ssl_channel_credentials(root_certificates=certificate),
        )
        try:
            for index in range(10):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
        finally:
            sink.close(WAIT_S)

    assert log.count() == 10


def test_a_plaintext_sink_cannot_reach_a_tls_sink_and_keeps_its_events() -> None:
    key, certificate = self_signed_certificate()
    server_credentials = grpc.ssl_server_credentials([(key, certificate)])
    log = SinkLog()
    with serve(metering_handlers(log, batch=True), credentials=server_credentials) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            sink.record(metering_event(0))
            assert sink.flush(0.3) is False
            stats = sink.stats()
        finally:
            sink.close(0)

    assert stats.queued == 1
    assert stats.retries >= 1
    assert log.count() == 0


def test_every_call_carries_the_metadata() -> None:
    log = SinkLog(required_metadata=("authorization", "Bearer sink-token-0123456789"))
    with serve_audit(log, batch=False) as address:
        sink = GrpcAuditSink(
            address,
            options=FAST,
            metadata=[("authorization", "Bearer sink-token-0123456789"), ("x-runtime", "r1")],
        )
        try:
            for index in range(3):
                sink.record(audit_event(index))
            assert sink.flush(WAIT_S)
        finally:
            sink.close(WAIT_S)

    assert log.count() == 3
    # One batch call (UNIMPLEMENTED, never reaching the handler) then three unary ones.
    assert len(log.metadata_seen) == 3
    assert all(seen["x-runtime"] == "r1" for seen in log.metadata_seen)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_the_counters_are_exported_when_a_registry_is_given() -> None:
    registry = CollectorRegistry()
    log = SinkLog(
        refuse=lambda event: grpc.StatusCode.INVALID_ARGUMENT if event.tokens_in < 0 else None
    )
    log.fail_next(grpc.StatusCode.UNAVAILABLE)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=FAST, registry=registry)
        audit = GrpcAuditSink(dead_address(), options=FAST, registry=registry)
        try:
            for index in range(4):
                sink.record(metering_event(index, tokens_in=-1 if index == 2 else 1))
            assert sink.flush(WAIT_S)
            sink.record(None)  # type: ignore[arg-type]
            audit.record(audit_event(0))
            stats = sink.stats()

            def events(outcome: str, name: str = "metering") -> float | None:
                return sample(registry, "extplane_sink_events_total", sink=name, outcome=outcome)

            assert events("delivered") == stats.delivered == 3
            assert events("rejected") == stats.rejected == 1
            assert events("dropped") == stats.dropped == 1
            assert events("overflowed") == 0
            assert events("abandoned") == 0
            assert sample(registry, "extplane_sink_retries_total", sink="metering") == 1
            assert sample(registry, "extplane_sink_queued", sink="metering") == 0
            assert sample(registry, "extplane_sink_capacity", sink="metering") == FAST.capacity
            assert sample(registry, "extplane_sink_batch_mode", sink="metering") == 1
            assert sample(registry, "extplane_sink_queued", sink="audit") == 1
        finally:
            sink.close(WAIT_S)
            audit.close(0)

        assert (
            sample(registry, "extplane_sink_events_total", sink="audit", outcome="abandoned") == 1
        )


def test_two_live_sinks_may_not_share_a_name_in_one_registry() -> None:
    registry = CollectorRegistry()
    first = GrpcMeteringSink(dead_address(), options=FAST, registry=registry)
    try:
        with pytest.raises(ValueError, match="a sink named 'metering' already reports"):
            GrpcMeteringSink(dead_address(), options=FAST, registry=registry)
        other = GrpcMeteringSink(dead_address(), options=FAST, registry=registry, name="billing")
        other.close(0)
    finally:
        first.close(0)
    # Once closed, its name is free for a successor.
    successor = GrpcMeteringSink(dead_address(), options=FAST, registry=registry)
    successor.record(metering_event(0))
    assert sample(registry, "extplane_sink_queued", sink="metering") == 1
    successor.close(0)
