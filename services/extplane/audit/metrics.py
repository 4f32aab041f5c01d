"""Prometheus families of the audit service, registered once per registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from extplane.runtime import once_per_registry


@dataclass(frozen=True)
class AuditMetrics:
    recorded: Counter
    duplicates: Counter
    rejected: Counter
    head_sequence: Gauge
    checkpoints: Counter
    verifications: Counter
    pruned: Counter
    witnessed: Counter


@once_per_registry
def audit_metrics(registry: CollectorRegistry) -> AuditMetrics:
    """The audit families in `registry`, created on first use."""
    return AuditMetrics(
        recorded=Counter(
            "extplane_audit_events_recorded",
            "Audit events newly stored in the chain.",
            registry=registry,
        ),
        duplicates=Counter(
            "extplane_audit_events_duplicate",
            "Audit events acknowledged as duplicates of a stored event_id.",
            registry=registry,
        ),
        rejected=Counter(
            "extplane_audit_events_rejected",
            "Audit events refused as invalid (each event of a refused batch counts).",
            registry=registry,
        ),
        head_sequence=Gauge(
            "extplane_audit_chain_head_sequence",
            "Sequence of the last record this process appended or saw at the head.",
            registry=registry,
        ),
        checkpoints=Counter(
            "extplane_audit_checkpoints",
            "Checkpoints this process signed and stored.",
            registry=registry,
        ),
        verifications=Counter(
            "extplane_audit_verifications",
            "Verifications run, by result: intact or the tamper kind found.",
            ["result"],
            registry=registry,
        ),
        pruned=Counter(
            "extplane_audit_records_pruned",
            "Records deleted by retention.",
            registry=registry,
        ),
        witnessed=Counter(
            "extplane_audit_witness_checkpoints",
            "Checkpoints handed to witnesses, by witness and outcome: written (a file "
            "witness), sent (queued for a remote one), failed, dropped (its queue was full).",
            ["witness", "outcome"],
            registry=registry,
        ),
    )
