"""Client-side TLS: the one place where a channel's credentials are built from files.

Every client of extplane takes a `ClientTls` — the sinks, the typed query
clients, the CLI, the gateway's upstream channels and the capability service's
channels to its providers — and opens its channel with `aio_channel` or
`sync_channel`, so a CA bundle, a client certificate (mTLS) or a server name
mean the same thing everywhere. `None` instead of a `ClientTls` is plaintext:
for loopback, and behind a mesh sidecar that does mTLS itself.

The files are read when a channel is opened: a rotated client certificate is
used by the channels opened after the rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, Field, model_validator

ChannelOptions = Sequence[tuple[str, Any]]


class ClientTls(BaseModel):
    """How a client checks the server (and, for mTLS, proves who it is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = Field(
        default=None,
        description="PEM bundle of the CAs that sign the servers' certificates; "
        "unset: the roots gRPC ships with.",
    )
    cert_file: Path | None = Field(
        default=None, description="This client's PEM certificate chain, for servers requiring mTLS."
    )
    key_file: Path | None = Field(default=None, description="The PEM private key of cert_file.")
    server_name: str | None = Field(
        default=None,
        min_length=1,
        description="The name the server's certificate must carry when it is not the "
        "host dialled (e.g. dialling an IP address).",
    )

    @model_validator(mode="after")
    def _certificate_with_its_key(self) -> ClientTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file: give both (mTLS) or neither")
        return self

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """gRPC credentials from the files as they are now; ValueError naming a bad file."""
        root = read_certificates(self.ca_file, "ca_file") if self.ca_file else None
        chain = read_certificates(self.cert_file, "cert_file") if self.cert_file else None
        key = read_private_key(self.key_file, "key_file") if self.key_file else None
        return grpc.ssl_channel_credentials(
            root_certificates=root, private_key=key, certificate_chain=chain
        )

    def channel_options(self) -> tuple[tuple[str, Any], ...]:
        if self.server_name is None:
            return ()
        return (("grpc.ssl_target_name_override", self.server_name),)


def aio_channel(
    target: str,
    tls: ClientTls | None,
    *,
    options: ChannelOptions = (),
    interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
) -> grpc.aio.Channel:
    """An asyncio channel to `target`: TLS per `tls`, plaintext when it is None."""
    if tls is None:
        return grpc.aio.insecure_channel(target, options=list(options), interceptors=interceptors)
    return grpc.aio.secure_channel(
        target,
        tls.channel_credentials(),
        options=[*tls.channel_options(), *options],
        interceptors=interceptors,
    )


def sync_channel(
    target: str, tls: ClientTls | None, *, options: ChannelOptions = ()
) -> grpc.Channel:
    """A synchronous channel to `target` (the sinks' worker threads use these)."""
    if tls is None:
        return grpc.insecure_channel(target, options=list(options))
    return grpc.secure_channel(
        target, tls.channel_credentials(), options=[*tls.channel_options(), *options]
    )


def read_certificates(path: Path, setting: str) -> bytes:
    """The PEM certificates in `path`, checked to be some; ValueError naming `setting`."""
    data = _read(path, setting)
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{setting}: {path} holds no PEM certificate") from None
    return data


def read_private_key(path: Path, setting: str) -> bytes:
    """The unencrypted PEM private key in `path`; ValueError naming `setting`."""
    data = _read(path, setting)
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{setting}: {path} holds no unencrypted PEM private key") from None
    return data


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ValueError(f"{setting}: cannot read {path}: {error.strerror}") from None
