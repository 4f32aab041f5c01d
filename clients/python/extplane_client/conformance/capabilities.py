"""The CapabilityProvider contract, for either role it is implemented in.

`provider` (the default): an extension provider, which only *adds* keys;
`core`: a capability service, whose snapshot carries the core's keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import grpc

from extplane_client.conformance._model import Check, Clause, Finding, Level, failed, passed
from extplane_client.conformance._probe import Answer, Method, Probe, one_line
from extplane_client.conformance.liveness import liveness_checks
from extplane_protos.orloj.extensions.v1 import capabilities_pb2 as pb

Role = Literal["provider", "core"]
ROLES: tuple[Role, ...] = ("provider", "core")

DOCS = "docs/capabilities.md"
CAPABILITIES = Method(
    "/orloj.extensions.v1.CapabilityProvider/Capabilities",
    pb.CapabilitiesRequest,
    pb.CapabilitiesResponse,
)
CORE_FEATURES = ("capabilities", "gateway", "metering", "audit", "host", "runner")
"""The service features only the core sets (docs/capabilities.md, "Features")."""
RESERVED_PREFIX = "extplane."
CORE_METADATA = (
    "extplane.version",
    "extplane.contracts",
    "extplane.services",
    "extplane.providers",
)

SNAPSHOT = "snapshot"
"""The fact that the implementation serves a snapshot: the checks of its keys need one."""
_SENT = CAPABILITIES.sent(pb.CapabilitiesRequest())


def _good(
    probe: Probe,
) -> tuple[Method[pb.CapabilitiesRequest, pb.CapabilitiesResponse], pb.CapabilitiesRequest]:
    return CAPABILITIES, pb.CapabilitiesRequest()


async def _snapshot(
    probe: Probe,
) -> tuple[pb.CapabilitySnapshot | None, Answer[pb.CapabilitiesResponse]]:
    answer = await probe.call(CAPABILITIES, pb.CapabilitiesRequest())
    response = answer.response
    if response is None or not response.HasField("snapshot"):
        return None, answer
    return response.snapshot, answer


def _keys_check(
    name: str,
    text: str,
    section: str,
    offending: Callable[[pb.CapabilitySnapshot], list[str]],
    *,
    level: Level = Level.FULL,
    required: bool = True,
) -> Check:
    """A check that the snapshot holds none of the keys `offending(snapshot)` lists."""

    async def probe_(probe: Probe) -> Finding:
        snapshot, answer = await _snapshot(probe)
        if snapshot is None:
            return failed("no snapshot to check", sent=_SENT, got=answer.describe())
        found = offending(snapshot)
        if found:
            return failed(
                f"the snapshot sets {', '.join(found)}", sent=_SENT, got=one_line(snapshot)
            )
        return passed()

    clause = Clause(text, f"{DOCS}#{section}")
    return Check(
        f"capabilities.{name}", level, clause, probe_, required=required, applies_when=SNAPSHOT
    )


async def _snapshot_present(probe: Probe) -> Finding:
    snapshot, answer = await _snapshot(probe)
    if snapshot is not None:
        probe.facts[SNAPSHOT] = True
        return passed(f"{len(snapshot.features)} features, {len(snapshot.metadata)} metadata keys")
    if answer.code is grpc.StatusCode.OK:
        return failed(
            "the answer has no snapshot (MISSING_SNAPSHOT); send an empty one",
            sent=_SENT,
            got=answer.describe(),
        )
    return failed("the snapshot was not served", sent=_SENT, got=answer.describe())


def _empty_names(snapshot: pb.CapabilitySnapshot) -> list[str]:
    return [
        f"an empty {section} name"
        for section, keys in (("feature", snapshot.features), ("metadata", snapshot.metadata))
        if "" in keys
    ]


def _core_features(snapshot: pb.CapabilitySnapshot) -> list[str]:
    return [f"features.{key}" for key in CORE_FEATURES if key in snapshot.features]


def _reserved_metadata(snapshot: pb.CapabilitySnapshot) -> list[str]:
    return [
        f"metadata.{key}" for key in sorted(snapshot.metadata) if key.startswith(RESERVED_PREFIX)
    ]


def _unprefixed(snapshot: pb.CapabilitySnapshot) -> list[str]:
    keys = [
        *(f"features.{k}" for k in snapshot.features),
        *(f"metadata.{k}" for k in snapshot.metadata),
    ]
    return [key for key in keys if "." not in key.split(".", 1)[1]]


def _missing_core(snapshot: pb.CapabilitySnapshot) -> list[str]:
    missing = [f"features.{k}" for k in CORE_FEATURES if k not in snapshot.features]
    return missing + [f"metadata.{k}" for k in CORE_METADATA if k not in snapshot.metadata]


async def _services_agree(probe: Probe) -> Finding:
    snapshot, answer = await _snapshot(probe)
    if snapshot is None:
        return failed("no snapshot to check", sent=_SENT, got=answer.describe())
    listed = [s for s in snapshot.metadata.get("extplane.services", "").split(",") if s]
    enabled = [k for k in CORE_FEATURES if snapshot.features.get(k)]
    if listed != enabled:
        return failed(
            f"extplane.services lists {listed}, the features enable {enabled}",
            sent=_SENT,
            got=one_line(snapshot),
        )
    return passed()


async def _stable(probe: Probe) -> Finding:
    first, answer = await _snapshot(probe)
    second, again = await _snapshot(probe)
    if first is None or second is None:
        return failed(
            "no snapshot to compare", sent=_SENT, got=(again if first else answer).describe()
        )
    if first.SerializeToString(deterministic=True) != second.SerializeToString(deterministic=True):
        return failed(
            "two snapshots of an unchanged deployment differ",
            sent=f"twice: {_SENT}",
            got=f"{one_line(first)} then {one_line(second)}",
        )
    return passed()


def checks(role: Role = "provider") -> tuple[Check, ...]:
    shared = (
        *liveness_checks("capabilities", _good, "orloj.extensions.v1.CapabilityProvider"),
        Check(
            "capabilities.snapshot_present",
            Level.SEED,
            Clause(
                "Capabilities answers a snapshot (an empty one when it has nothing to add)",
                f"{DOCS}#degraded-providers",
            ),
            _snapshot_present,
        ),
        _keys_check(
            "names_non_empty",
            "no feature or metadata name is empty (INVALID_SNAPSHOT)",
            "degraded-providers",
            _empty_names,
            level=Level.SEED,
        ),
    )
    if role == "core":
        return (
            *shared,
            _keys_check(
                "core.keys_present",
                "the core snapshot holds every service feature and the extplane. metadata",
                "the-core-snapshot",
                _missing_core,
            ),
            Check(
                "capabilities.core.services_agree",
                Level.FULL,
                Clause(
                    "extplane.services lists exactly the services whose feature is true",
                    f"{DOCS}#metadata",
                ),
                _services_agree,
                applies_when=SNAPSHOT,
            ),
            Check(
                "capabilities.core.stable",
                Level.FULL,
                Clause(
                    "an unchanged deployment serves byte-identical snapshots", f"{DOCS}#metadata"
                ),
                _stable,
                applies_when=SNAPSHOT,
            ),
        )
    return (
        *shared,
        _keys_check(
            "no_core_features",
            "providers add, never replace: no core service feature",
            "the-merge-rule",
            _core_features,
        ),
        _keys_check(
            "no_reserved_metadata",
            "metadata keys under extplane. are reserved for the core",
            "the-merge-rule",
            _reserved_metadata,
        ),
        _keys_check(
            "keys_prefixed",
            "keys carry the provider's own prefix, e.g. acme.invoicing (recommended)",
            "the-merge-rule",
            _unprefixed,
            required=False,
        ),
    )
