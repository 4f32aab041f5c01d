"""An `ssl.SSLContext` for HTTP servers that picks up rotated certificate files.

The context a server listens with checks the files at each new connection's
handshake (its SNI callback runs whether or not the client sent a name) and,
once they changed, hands that connection and the later ones a context made
from the new files. Connections already open keep their certificate.
"""

from __future__ import annotations

import logging
import ssl

from extplane.errors import StartupError
from extplane.runtime.certificate_files import CertificateFiles, ServerCertificate
from extplane.runtime.tls import TlsSettings

_logger = logging.getLogger("extplane.tls")


class ReloadingSslContext:
    """`listening` is the context to serve with. Raises `StartupError` naming the
    setting when a file is missing or unusable."""

    def __init__(self, settings: TlsSettings) -> None:
        self._files = CertificateFiles(settings)
        try:
            self.listening = self._context(self._files.current)
        except ssl.SSLError as error:
            raise StartupError(f"tls: {self._files.cert_file}: {error}") from None
        self.listening.sni_callback = self._choose
        self._serving = self.listening

    def _choose(
        self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> None:
        rotated = self._files.changed()
        if rotated is not None:
            try:
                self._serving = self._context(rotated)
            except (ssl.SSLError, ValueError) as error:
                _logger.warning(
                    "tls: rotated files not taken, still serving the old ones: %s", error
                )
        if self._serving is not context:
            connection.context = self._serving

    def _context(self, certificate: ServerCertificate) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain reads files only; these are the ones just checked to agree.
        context.load_cert_chain(self._files.cert_file, self._files.key_file)
        if certificate.client_ca is not None:
            context.load_verify_locations(cadata=certificate.client_ca.decode("ascii"))
            context.verify_mode = ssl.CERT_REQUIRED
        return context
