"""gRPC server credentials that pick up rotated certificate files.

gRPC asks the fetcher for a new configuration at each new connection's
handshake; it answers None (keep the current one) until the files change.
Connections already open keep the certificate they were made with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import grpc

from extplane.runtime.certificate_files import CertificateFiles, ServerCertificate
from extplane.runtime.tls import TlsSettings


def server_credentials(settings: TlsSettings) -> grpc.ServerCredentials:
    """TLS credentials from `settings` (which must enable TLS); with a client CA, every
    client must present a certificate that verifies against it.

    Raises `StartupError` naming the setting when a file is missing or unusable.
    """
    files = CertificateFiles(settings)

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        rotated = files.changed()
        return None if rotated is None else _configuration(rotated)

    return grpc.dynamic_ssl_server_credentials(
        _configuration(files.current),
        # gRPC takes None as "unchanged"; its type stubs leave that out.
        cast("Callable[[], grpc.ServerCertificateConfiguration]", fetch),
        require_client_authentication=files.client_certificates_required,
    )


def _configuration(certificate: ServerCertificate) -> grpc.ServerCertificateConfiguration:
    return grpc.ssl_server_certificate_configuration(
        [(certificate.key, certificate.chain)], root_certificates=certificate.client_ca
    )
