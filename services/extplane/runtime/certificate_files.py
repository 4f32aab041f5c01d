"""A server's certificate files, read again when they change on disk.

Servers ask `changed()` as each new connection arrives (a `stat` of each file,
nothing more while nothing changed), so a certificate rotated in place — a
renewed Kubernetes Secret, a cert-manager renewal — is served to the next
connection without a restart. A rotation caught halfway (the new certificate
beside the old key) is not taken: the old pair keeps serving until the files
agree again.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from extplane.errors import StartupError
from extplane.runtime.tls import TlsSettings
from extplane_client.tls import read_certificates, read_private_key

_logger = logging.getLogger("extplane.tls")

# What identifies a file's version: device, inode, size, modification time.
_Stamp = tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True)
class ServerCertificate:
    """The PEM bytes of one consistent version of the files."""

    chain: bytes
    key: bytes
    client_ca: bytes | None


class CertificateFiles:
    """`settings` must have TLS enabled; a missing or unusable file raises `StartupError`
    naming the setting. Safe to call from several threads."""

    def __init__(self, settings: TlsSettings) -> None:
        if settings.cert_file is None or settings.key_file is None:
            raise StartupError("tls: cert_file and key_file are needed to serve TLS")
        self._cert_file = settings.cert_file
        self._key_file = settings.key_file
        self._client_ca_file = settings.client_ca_file
        self._lock = threading.Lock()
        # Stamped before reading: a change in between is read again next time.
        self._stamp = self._stat_or_none()
        try:
            self.current = self._read()
        except ValueError as error:
            raise StartupError(str(error)) from None

    @property
    def cert_file(self) -> Path:
        return self._cert_file

    @property
    def key_file(self) -> Path:
        return self._key_file

    @property
    def client_certificates_required(self) -> bool:
        return self._client_ca_file is not None

    def changed(self) -> ServerCertificate | None:
        """The new version when the files changed since last asked and agree; else None."""
        with self._lock:
            try:
                stamp = self._stat()
            except OSError:
                return None  # mid-rotation (a file briefly missing): keep serving
            if stamp == self._stamp:
                return None
            self._stamp = stamp
            try:
                self.current = self._read()
            except ValueError as error:
                _logger.warning(
                    "tls: rotated files not taken, still serving the old ones: %s", error
                )
                return None
            _logger.info("tls: serving the rotated certificate from %s", self._cert_file)
            return self.current

    def _paths(self) -> tuple[Path, ...]:
        extra = () if self._client_ca_file is None else (self._client_ca_file,)
        return (self._cert_file, self._key_file, *extra)

    def _stat_or_none(self) -> _Stamp | None:
        try:
            return self._stat()
        except OSError:
            return None  # _read names the missing file

    def _stat(self) -> _Stamp:
        stamps = []
        for path in self._paths():
            found = os.stat(path)
            stamps.append((found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns))
        return tuple(stamps)

    def _read(self) -> ServerCertificate:
        chain = read_certificates(self._cert_file, "tls.cert_file")
        key = read_private_key(self._key_file, "tls.key_file")
        leaf = x509.load_pem_x509_certificate(chain)
        private = serialization.load_pem_private_key(key, password=None)
        if _public_der(leaf.public_key()) != _public_der(private.public_key()):
            raise ValueError(f"tls.key_file: {self._key_file} is not the key of {self._cert_file}")
        client_ca = None
        if self._client_ca_file is not None:
            client_ca = read_certificates(self._client_ca_file, "tls.client_ca_file")
        return ServerCertificate(chain=chain, key=key, client_ca=client_ca)


def _public_der(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
