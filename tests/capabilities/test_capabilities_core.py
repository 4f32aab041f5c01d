"""The core snapshot and the `extplane.` metadata only the core writes."""

from __future__ import annotations

import pytest

import extplane
from extplane.capabilities.core import (
    KNOWN_SERVICES,
    MAX_REPORTED_CONFLICTS,
    core_snapshot,
    health_metadata,
)


def test_every_known_service_is_a_feature_true_only_if_running() -> None:
    snapshot = core_snapshot(["metering", "capabilities", "gateway"], [])

    assert dict(snapshot.features) == {
        "capabilities": True,
        "gateway": True,
        "metering": True,
        "audit": False,
        "host": False,
        "runner": False,
    }
    assert set(snapshot.features) == set(KNOWN_SERVICES)


def test_metadata_describes_the_deployment() -> None:
    snapshot = core_snapshot(["gateway", "capabilities", "gateway"], ["zeta", "alpha"])

    assert dict(snapshot.metadata) == {
        "extplane.version": extplane.__version__,
        "extplane.contracts": "orloj.extensions.v1,alga.extension.v1",
        "extplane.services": "capabilities,gateway",
        # Configured order, because it is the precedence order of the merge.
        "extplane.providers": "zeta,alpha",
    }


def test_the_host_capabilities_are_stated_sorted_only_when_the_host_runs() -> None:
    served = ["cap:storage.kv", "cap:context.read", "cap:storage.kv"]

    with_host = core_snapshot(["capabilities", "host"], [], served)
    without = core_snapshot(["capabilities"], [], served)

    assert with_host.metadata["extplane.host.capabilities"] == "cap:context.read,cap:storage.kv"
    assert "extplane.host.capabilities" not in without.metadata


def test_no_providers_is_stated_not_omitted() -> None:
    assert core_snapshot(["capabilities"], []).metadata["extplane.providers"] == ""


def test_the_snapshot_is_deterministic() -> None:
    assert core_snapshot(["capabilities"], ["a"]) == core_snapshot(["capabilities"], ["a"])


def test_an_unknown_running_service_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="running_services: unknown service\\(s\\) billing"):
        core_snapshot(["capabilities", "billing"], [])


def test_health_metadata_is_absent_when_all_is_well() -> None:
    assert health_metadata({}, []) == {}


def test_degraded_providers_are_sorted_name_reason_pairs() -> None:
    metadata = health_metadata({"slow": "DEADLINE_EXCEEDED", "dead": "UNAVAILABLE"}, [])

    assert metadata == {"extplane.providers.degraded": "dead=UNAVAILABLE,slow=DEADLINE_EXCEEDED"}


def test_the_conflict_report_is_sorted_and_bounded() -> None:
    conflicts = [f"p:features.k{index:03d}" for index in range(MAX_REPORTED_CONFLICTS + 7)]

    reported = health_metadata({}, reversed(conflicts))["extplane.providers.conflicts"]

    entries = reported.split(",")
    assert entries[:-1] == conflicts[:MAX_REPORTED_CONFLICTS]
    assert entries[-1] == "+7 more"
