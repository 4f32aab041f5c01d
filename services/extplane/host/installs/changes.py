"""Every change to an install, as an audit event.

Events go to an `AuditSink` from `extplane_client`: the `GrpcAuditSink`
adapter when an audit service is configured or runs in the same suite (it
never blocks the call and never raises), `NoopAuditSink` otherwise. Action
`install.<verb>`, actor the admin token's name, resource
`install/<tenant>/<install id>`, namespace the tenant, outcome `allowed`,
details what changed (each changed field's new value; lists as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.installs.model import Install, Limits, Route, Settings
from extplane_client import AuditSink
from extplane_client.audit_sink import AuditEvent


def _limits(limits: Limits) -> str:
    return json.dumps(
        {
            "storage_value_bytes": limits.storage_value_bytes,
            "storage_keys_per_namespace": limits.storage_keys_per_namespace,
            "storage_bytes": limits.storage_bytes,
            "log_records_per_minute": limits.log_records_per_minute,
        },
        sort_keys=True,
    )


def _route_detail(route: Route) -> dict[str, str]:
    """A route as audited: the secret's key and header, never its value."""
    detail = {"route": route.route, "upstream_url": route.upstream_url}
    if route.secret_key:
        detail |= {"secret_key": route.secret_key, "secret_header": route.secret_header}
    return detail


def settings_details(settings: Settings) -> dict[str, str]:
    """Every setting as an audit detail value."""
    return {
        "version": settings.version,
        "granted_capabilities": json.dumps(list(settings.capabilities)),
        "egress_allowlist": json.dumps(list(settings.egress_allowlist)),
        "ui_proxy_routes": json.dumps([_route_detail(r) for r in settings.ui_proxy_routes]),
        "limits": _limits(settings.limits),
    }


def changed_details(before: Settings, after: Settings) -> dict[str, str]:
    """The settings that differ, with their new values."""
    old, new = settings_details(before), settings_details(after)
    return {name: value for name, value in new.items() if old[name] != value}


class ChangeLog:
    """Records what an admin changed; never blocks, never raises (the sink's promise)."""

    def __init__(self, sink: AuditSink, clock_ns: Callable[[], int]) -> None:
        self.sink = sink
        self._clock_ns = clock_ns

    def record(self, action: str, actor: str, install: Install, details: Mapping[str, str]) -> None:
        stamp = Timestamp()
        stamp.FromNanoseconds(self._clock_ns())
        self.sink.record(
            AuditEvent(
                timestamp=stamp,
                action=action,
                actor=actor,
                resource=install.resource,
                namespace=install.tenant,
                outcome="allowed",
                details={**details, "revision": str(install.revision)},
            )
        )
