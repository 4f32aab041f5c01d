"""Every change to a secret, as an audit event. The details name the secret,
its expiry and the key id that sealed it; the value is never among them.

Action `secret.set` / `secret.delete`, actor the admin token's name, resource
`install/<tenant>/<install id>/secret/<key>`, namespace the tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.secrets.sealing import SecretAddress
from extplane_client import AuditSink
from extplane_client.audit_sink import AuditEvent


def resource(at: SecretAddress) -> str:
    return f"install/{at.tenant}/{at.install_id}/secret/{at.key}"


class SecretChanges:
    def __init__(self, sink: Callable[[], AuditSink | None], clock_ns: Callable[[], int]) -> None:
        self._sink = sink
        self._clock_ns = clock_ns

    def record(
        self, action: str, actor: str, at: SecretAddress, details: Mapping[str, str]
    ) -> None:
        sink = self._sink()
        if sink is None:
            return
        stamp = Timestamp()
        stamp.FromNanoseconds(self._clock_ns())
        sink.record(
            AuditEvent(
                timestamp=stamp,
                action=action,
                actor=actor,
                resource=resource(at),
                namespace=at.tenant,
                outcome="allowed",
                details={"key": at.key, **details},
            )
        )
