"""The one exception of egress: a refusal or failure, as a WIT `http-error` kind."""

from __future__ import annotations

from typing import Literal

EgressErrorKind = Literal["invalid-url", "not-allowed", "transport", "internal"]


class EgressError(Exception):
    """`kind` is the WIT `http-error` case; `detail` names the URL's host at most,
    never its path, query string or any header value, so it may be logged,
    audited and answered to the guest as is. `sent`/`received` count the bytes
    that crossed the network before the failure (for metrics)."""

    def __init__(self, kind: EgressErrorKind, detail: str, *, host: str = "") -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: EgressErrorKind = kind
        self.detail = detail
        self.host = host
        self.sent = 0
        self.received = 0

    @property
    def is_refusal(self) -> bool:
        """Refused by policy or shape (audited), rather than failed on the way."""
        return self.kind in ("invalid-url", "not-allowed")
