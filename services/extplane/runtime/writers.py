"""Who may write to a sink, and the name each write is recorded under (DESIGN §4, §7).

A sink call is accepted when it carries

* a bearer token holding the sink's writer role (`metering.writer`,
  `audit.writer`, or `*`): the principal is the token's configured name; or
* a client certificate the server verified against its client CA (mTLS): the
  principal is `cert:` followed by the certificate's subject; or
* nothing at all, only while ingest is *open*: no token is configured and the
  server is bound to loopback (the embedded default), or the operator set
  `auth.allow_unauthenticated_ingest = true`. The principal is `anonymous`.

A token that is presented is always checked, open or not: a wrong token is
refused rather than quietly written as anonymous.

A server bound to any other address with neither a token nor client
certificates would take forged events from anyone who can reach the port, so
`IngestPolicy.check_startup` refuses to start it unless the operator chose
that explicitly.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

import grpc

from extplane.errors import StartupError, UnauthenticatedError
from extplane.runtime.auth import Authorizer, bearer_authorization
from extplane.runtime.peer_identity import client_certificate_subject

METERING_WRITER = "metering.writer"
AUDIT_WRITER = "audit.writer"
# The principal of a write accepted without credentials (open ingest only).
ANONYMOUS = "anonymous"
CERTIFICATE_PREFIX = "cert:"

_logger = logging.getLogger(__name__)


def is_loopback_host(host: str) -> bool:
    """True when binding `host` serves this machine only (`localhost`, 127/8, ::1).

    A wildcard (`0.0.0.0`, `::`) or any other name is not: it may be reachable
    from elsewhere.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class IngestPolicy:
    """The deployment's rule for writers, the same for every sink of a process."""

    authorizer: Authorizer
    bind_host: str = "127.0.0.1"
    client_certificates_required: bool = False
    allow_unauthenticated: bool = False

    @property
    def is_open(self) -> bool:
        """True when a call without credentials is accepted (as `anonymous`)."""
        if self.allow_unauthenticated:
            return True
        if self.client_certificates_required:
            return False
        return not self.authorizer.has_tokens and is_loopback_host(self.bind_host)

    def check_startup(self, service: str, role: str) -> None:
        """Refuse to serve `service`'s ingest unauthenticated beyond loopback; say what
        the writers are checked against."""
        authenticated = self.authorizer.has_tokens or self.client_certificates_required
        if self.allow_unauthenticated:
            # On loopback that is what the embedded default does anyway.
            log = _logger.info if is_loopback_host(self.bind_host) else _logger.warning
            log(
                "%s accepts unauthenticated ingest on %s (auth.allow_unauthenticated_ingest"
                " = true): anyone who reaches the port can write events",
                service,
                self.bind_host,
            )
            return
        if not authenticated and not is_loopback_host(self.bind_host):
            raise StartupError(
                f"{service}: refusing to serve ingest on {self.bind_host} without "
                f"authentication; configure a token with the {role!r} role (auth.tokens), "
                "client certificates (a TLS client CA), or set "
                "auth.allow_unauthenticated_ingest = true"
            )
        if self.authorizer.has_tokens and not self.authorizer.any_token_holds(role):
            _logger.warning(
                "%s: no configured token holds the %r role: ingest is refused to every "
                "caller without a client certificate",
                service,
                role,
            )

    def guard(self, role: str) -> WriterGuard:
        return WriterGuard(self, role)


@dataclass(frozen=True)
class WriterGuard:
    """One sink's writer check: `await guard.require(context)` → the principal."""

    policy: IngestPolicy
    role: str

    def check_startup(self, service: str) -> None:
        """In the sink's `start()`: `IngestPolicy.check_startup` for this role."""
        self.policy.check_startup(service, self.role)

    async def require(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """The principal the call's events are written under; raises
        `UnauthenticatedError` / `PermissionDeniedError` for a refused writer."""
        authorization = bearer_authorization(context)
        if authorization is not None:
            return self.policy.authorizer.check(authorization, self.role)
        subject = client_certificate_subject(context)
        if subject is not None:
            return CERTIFICATE_PREFIX + subject
        if self.policy.is_open:
            return ANONYMOUS
        raise UnauthenticatedError(
            f"writing needs a bearer token with the {self.role!r} role or a client certificate"
        )
