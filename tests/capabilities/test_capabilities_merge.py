"""The merge rule as pure functions: providers add, never replace."""

from __future__ import annotations

from extplane.capabilities.merge import Conflict, ConflictReason, merge
from extplane.capabilities.snapshot import Snapshot

CORE = Snapshot(
    features={"audit": False, "gateway": True},
    metadata={"extplane.version": "1.0", "region": "eu"},
)


def test_providers_add_new_keys() -> None:
    result = merge(CORE, [("acme", Snapshot({"acme.billing": True}, {"acme.tier": "gold"}))])

    assert result.snapshot == Snapshot(
        features={"audit": False, "gateway": True, "acme.billing": True},
        metadata={"extplane.version": "1.0", "region": "eu", "acme.tier": "gold"},
    )
    assert result.conflicts == ()


def test_a_core_key_is_never_changed_by_a_provider() -> None:
    result = merge(CORE, [("acme", Snapshot({"audit": True}, {"region": "us"}))])

    assert result.snapshot.features["audit"] is False
    assert result.snapshot.metadata["region"] == "eu"
    assert result.conflicts == (
        Conflict("acme", "features", "audit", ConflictReason.CORE_KEY),
        Conflict("acme", "metadata", "region", ConflictReason.CORE_KEY),
    )


def test_repeating_the_value_in_place_is_not_a_conflict() -> None:
    result = merge(
        CORE,
        [
            ("first", Snapshot({"gateway": True, "shared": True}, {"region": "eu"})),
            ("second", Snapshot({"shared": True})),
        ],
    )

    assert result.snapshot.features["shared"] is True
    assert result.conflicts == ()


def test_the_first_provider_in_configured_order_wins() -> None:
    result = merge(
        CORE,
        [
            ("zeta", Snapshot({"shared": True}, {"owner": "zeta"})),
            ("alpha", Snapshot({"shared": False}, {"owner": "alpha"})),
        ],
    )

    assert result.snapshot.features["shared"] is True
    assert result.snapshot.metadata["owner"] == "zeta"
    assert [c.label() for c in result.conflicts] == [
        "alpha:features.shared",
        "alpha:metadata.owner",
    ]
    assert {c.reason for c in result.conflicts} == {ConflictReason.EARLIER_PROVIDER}


def test_reserved_metadata_is_dropped_whatever_its_value() -> None:
    result = merge(
        CORE,
        [
            (
                "acme",
                Snapshot(metadata={"extplane.version": "1.0", "extplane.providers.degraded": ""}),
            )
        ],
    )

    assert dict(result.snapshot.metadata) == dict(CORE.metadata)
    assert result.conflicts == (
        Conflict(
            "acme", "metadata", "extplane.providers.degraded", ConflictReason.RESERVED_NAMESPACE
        ),
        Conflict("acme", "metadata", "extplane.version", ConflictReason.RESERVED_NAMESPACE),
    )


def test_the_reserved_namespace_is_a_metadata_rule_only() -> None:
    result = merge(CORE, [("acme", Snapshot({"extplane.acme": True}))])

    assert result.snapshot.features["extplane.acme"] is True
    assert result.conflicts == ()


def test_the_result_does_not_depend_on_key_order_within_a_provider() -> None:
    forward = {"b": True, "a": False, "audit": True}
    backward = dict(reversed(list(forward.items())))

    one = merge(CORE, [("p", Snapshot(forward)), ("q", Snapshot({"a": True}))])
    two = merge(CORE, [("p", Snapshot(backward)), ("q", Snapshot({"a": True}))])

    assert one == two
    assert [c.label() for c in one.conflicts] == ["p:features.audit", "q:features.a"]


def test_no_providers_yields_the_core_snapshot_unchanged() -> None:
    result = merge(CORE, [])

    assert result.snapshot == CORE
    assert result.conflicts == ()
