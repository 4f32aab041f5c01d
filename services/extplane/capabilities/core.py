"""The core snapshot: what this deployment runs, and the `extplane.` metadata only it writes.

The core snapshot is a pure function of the deployment (version, running services,
configured providers); `health_metadata` adds the providers' current health. Neither
carries a timestamp, on purpose: an unchanged deployment serves identical snapshots,
so HTTP caches and ETags keep working and `extplane capabilities` output can be diffed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import get_args

import extplane
from extplane.capabilities.config import ServiceName
from extplane.capabilities.snapshot import Snapshot
from extplane_client import capabilities as capabilities_client

KNOWN_SERVICES: tuple[str, ...] = get_args(ServiceName)
"""Every service of the suite. Each is a core feature key: true if it runs here, else false."""

CONTRACTS: tuple[str, ...] = ("orloj.extensions.v1", "alga.extension.v1")

RESERVED_METADATA_PREFIX = "extplane."
"""Metadata keys under this prefix are written by the core only; providers' attempts are dropped."""

VERSION_KEY = "extplane.version"
CONTRACTS_KEY = "extplane.contracts"
SERVICES_KEY = "extplane.services"
PROVIDERS_KEY = "extplane.providers"
# The capabilities whose host interfaces this deployment serves: what a runner or
# an extension author can be granted and actually call (a grantable capability
# whose provider is not built yet, such as `cap:http.fetch` today, is absent).
HOST_CAPABILITIES_KEY = "extplane.host.capabilities"
# The two keys clients parse are defined once, on the client side of the contract.
DEGRADED_KEY = capabilities_client.DEGRADED_KEY
CONFLICTS_KEY = capabilities_client.CONFLICTS_KEY

MAX_REPORTED_CONFLICTS = 50
"""A provider can send any number of keys; the conflict report stays readable and bounded."""


def validate_running_services(running_services: Iterable[str]) -> tuple[str, ...]:
    """The running services, deduplicated in suite order; an unknown name is a config error."""
    running = set(running_services)
    unknown = sorted(running.difference(KNOWN_SERVICES))
    if unknown:
        raise ValueError(
            f"running_services: unknown service(s) {', '.join(unknown)}; "
            f"known: {', '.join(KNOWN_SERVICES)}"
        )
    return tuple(name for name in KNOWN_SERVICES if name in running)


def core_snapshot(
    running_services: Iterable[str],
    provider_names: Sequence[str],
    host_capabilities: Iterable[str] = (),
) -> Snapshot:
    """The snapshot the deployment itself vouches for, before any provider is asked.

    `provider_names` keep their configured order because that order decides which
    provider wins a key (see merge.py); an empty value means none are configured.
    `host_capabilities` are stated (sorted) only when the host service runs.
    """
    running = validate_running_services(running_services)
    metadata = {
        VERSION_KEY: extplane.__version__,
        CONTRACTS_KEY: ",".join(CONTRACTS),
        SERVICES_KEY: ",".join(running),
        PROVIDERS_KEY: ",".join(provider_names),
    }
    if "host" in running:
        metadata[HOST_CAPABILITIES_KEY] = ",".join(sorted(set(host_capabilities)))
    return Snapshot(features={name: name in running for name in KNOWN_SERVICES}, metadata=metadata)


def health_metadata(degraded: Mapping[str, str], conflicts: Iterable[str]) -> dict[str, str]:
    """`extplane.providers.degraded` and `.conflicts`, each present only when non-empty.

    `degraded` maps provider name -> reason (a gRPC status code name or an answer
    problem); `conflicts` are `provider:features.key` / `provider:metadata.key` entries.
    Both are sorted so the snapshot does not change with the order providers answered in.
    """
    metadata: dict[str, str] = {}
    if degraded:
        metadata[DEGRADED_KEY] = ",".join(f"{name}={degraded[name]}" for name in sorted(degraded))
    reported = sorted(set(conflicts))
    if reported:
        shown = reported[:MAX_REPORTED_CONFLICTS]
        if len(reported) > len(shown):
            shown.append(f"+{len(reported) - len(shown)} more")
        metadata[CONFLICTS_KEY] = ",".join(shown)
    return metadata
