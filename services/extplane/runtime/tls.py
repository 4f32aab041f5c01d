"""Server TLS settings: a certificate and key, and a client CA that turns on mTLS.

One `TlsSettings` covers every server a process runs (its gRPC servers and the
gateway). Unset — the default — every server is plaintext: right on loopback
and behind a mesh sidecar that terminates mTLS. docs/tls.md has both shapes.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TlsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path | None = Field(
        default=None,
        description="PEM certificate chain the servers present (leaf first). "
        "Read again when it changes: rotate it in place, no restart.",
    )
    key_file: Path | None = Field(default=None, description="The PEM private key of cert_file.")
    client_ca_file: Path | None = Field(
        default=None,
        description="PEM bundle of the CAs whose client certificates are accepted. "
        "Set: every client must present a valid certificate (mTLS).",
    )

    @model_validator(mode="after")
    def _complete(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file: give both (TLS) or neither (plaintext)")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ValueError("client_ca_file: mTLS needs the server's cert_file and key_file too")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the servers speak TLS (False: plaintext)."""
        return self.cert_file is not None

    @property
    def client_certificates_required(self) -> bool:
        """Whether every connection must present a client certificate that verifies
        against `client_ca_file` (mTLS); a connection without one never reaches a handler."""
        return self.client_ca_file is not None
