"""The capabilities suite: our capability service passes in the core role, our
test-double provider in the provider role; a provider that replaces core keys,
or answers without a snapshot, fails the check meant for it."""

from __future__ import annotations

from pathlib import Path

from extplane.capabilities.core import KNOWN_SERVICES, RESERVED_METADATA_PREFIX
from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite
from extplane_client.conformance import Level, Options, Verdict, exit_status, run_conformance
from extplane_client.conformance import capabilities as kit
from extplane_client.testing import StaticCapabilityProvider, serve_capability_provider
from extplane_protos.orloj.extensions.v1 import capabilities_pb2

FULL = Level.FULL


def not_passed(report: object) -> list[str]:
    return [r.check.name for r in report.results if r.verdict is not Verdict.PASS]  # type: ignore[attr-defined]


def test_the_kit_knows_the_core_keys_the_service_writes() -> None:
    assert kit.CORE_FEATURES == KNOWN_SERVICES
    assert kit.RESERVED_PREFIX == RESERVED_METADATA_PREFIX


async def test_our_capability_service_passes_in_the_core_role(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, capabilities={"port": 0}, metrics={"enabled": False})
    async with Suite(settings, names=("capabilities",), metrics=Metrics()) as suite:
        address = f"127.0.0.1:{suite.servers['capabilities'].port}"
        core = await run_conformance(
            "capabilities", address, options=Options(level=FULL, settings={"role": "core"})
        )
        as_provider = await run_conformance("capabilities", address, options=Options(level=FULL))
    assert not_passed(core) == []
    assert exit_status(core) == 0
    # The same snapshot from an extension provider would replace the core's keys.
    assert as_provider.names(Verdict.FAIL, required=True) == [
        "capabilities.no_core_features",
        "capabilities.no_reserved_metadata",
    ]


async def test_a_provider_that_only_adds_prefixed_keys_passes() -> None:
    async with serve_capability_provider({"acme.invoicing": True}, {"acme.tier": "gold"}) as served:
        report = await run_conformance("capabilities", served.address, options=Options(level=FULL))
    # Our test double serves no health: a recommendation, reported, not required.
    assert not_passed(report) == ["capabilities.health"]
    assert report.conformant
    assert exit_status(report) == 0


async def test_a_provider_replacing_core_keys_fails_the_additive_checks() -> None:
    features = {"metering": False, "acme.invoicing": True}
    metadata = {"extplane.version": "9.9.9", "acme.tier": "gold"}
    async with serve_capability_provider(features, metadata) as served:
        report = await run_conformance("capabilities", served.address, options=Options(level=FULL))
    assert report.names(Verdict.FAIL, required=True) == [
        "capabilities.no_core_features",
        "capabilities.no_reserved_metadata",
    ]
    assert report.of("capabilities.no_core_features").finding.note == (
        "the snapshot sets features.metering"
    )
    assert (
        "metadata.extplane.version" in report.of("capabilities.no_reserved_metadata").finding.note
    )
    assert exit_status(report) == 1


class NoSnapshot(StaticCapabilityProvider):
    def response(self) -> capabilities_pb2.CapabilitiesResponse:
        return capabilities_pb2.CapabilitiesResponse()


async def test_an_answer_without_a_snapshot_fails_snapshot_present() -> None:
    async with serve_capability_provider(provider=NoSnapshot()) as served:
        report = await run_conformance("capabilities", served.address)
    assert report.names(Verdict.FAIL, required=True) == ["capabilities.snapshot_present"]
    assert "MISSING_SNAPSHOT" in report.of("capabilities.snapshot_present").finding.note
