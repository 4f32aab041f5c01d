"""HTTP egress that cannot be turned against the network (docs/host.md, `http`).

The guard is a library: the `http.fetch` provider sends through it, and so
does the ui-proxy for its upstream URLs.

    guard = EgressGuard(limits=EgressLimits(max_redirects=0))
    answer = await guard.send(OutboundRequest("GET", url), Allowlist.parse(entries))

Refusals and failures raise `EgressError` (kind: invalid-url, not-allowed,
transport, internal).
"""

from extplane.host.egress.allowlist import AllowEntry, Allowlist, EntryError, entry_problem
from extplane.host.egress.errors import EgressError, EgressErrorKind
from extplane.host.egress.guard import EgressGuard, tls_context
from extplane.host.egress.limits import EgressLimits
from extplane.host.egress.messages import InboundResponse, OutboundRequest
from extplane.host.egress.resolver import Resolver, SystemResolver

__all__ = [
    "AllowEntry",
    "Allowlist",
    "EgressError",
    "EgressErrorKind",
    "EgressGuard",
    "EgressLimits",
    "EntryError",
    "InboundResponse",
    "OutboundRequest",
    "Resolver",
    "SystemResolver",
    "entry_problem",
    "tls_context",
]
