"""Certificates made in the test run with `cryptography`: a CA, a server certificate for
127.0.0.1/::1/localhost, client certificates (a good one, an expired one, one from
another CA). `pki` (in tests/conftest.py) writes one set per test session."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from extplane.runtime.tls import TlsSettings
from extplane_client.tls import ClientTls

CLIENT_SUBJECT = "CN=billing-writer,O=Extplane Tests"
CLIENT_URI = "spiffe://extplane.test/ns/billing/sa/writer"


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    def issue(
        self,
        subject: x509.Name,
        *,
        server: bool,
        expired: bool = False,
        uris: tuple[str, ...] = (),
        client_too: bool = False,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A leaf for `subject`: a server's (127.0.0.1, ::1, localhost; `client_too` adds
        client authentication, as a pod's one certificate needs) or a client's."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        start, end = (
            (now - timedelta(days=10), now - timedelta(days=1))
            if expired
            else (
                now - timedelta(hours=1),
                now + timedelta(days=7),
            )
        )
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri) for uri in uris]
        if server:
            names += [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
        if client_too or not server:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def write_pair(
    directory: Path,
    stem: str,
    certificate: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def write_certificate(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def name(common_name: str, organization: str = "Extplane Tests") -> x509.Name:
    # Most general first, as issued names are; RFC 4514 strings read it backwards.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Pki:
    """Files of one test session's certificates, and the settings that use them."""

    directory: Path
    authority: Authority
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    expired_cert: Path
    expired_key: Path
    stranger_cert: Path
    stranger_key: Path

    @classmethod
    def create(cls, directory: Path) -> Pki:
        authority = Authority.create("Extplane Test CA")
        other = Authority.create("Some Other CA")
        ca_file = write_certificate(directory / "ca.crt", authority.certificate)
        server = write_pair(directory, "server", *authority.issue(name("localhost"), server=True))
        client = write_pair(
            directory,
            "client",
            *authority.issue(name("billing-writer"), server=False, uris=(CLIENT_URI,)),
        )
        expired = write_pair(
            directory, "expired", *authority.issue(name("old-writer"), server=False, expired=True)
        )
        stranger = write_pair(
            directory, "stranger", *other.issue(name("billing-writer"), server=False)
        )
        return cls(directory, authority, ca_file, *server, *client, *expired, *stranger)

    def server_tls(self, *, mtls: bool = False) -> TlsSettings:
        return TlsSettings(
            cert_file=self.server_cert,
            key_file=self.server_key,
            client_ca_file=self.ca_file if mtls else None,
        )

    def client_tls(self, who: str | None = None) -> ClientTls:
        """TLS trusting the test CA; `who` ("client", "expired", "stranger") adds that
        client certificate."""
        if who is None:
            return ClientTls(ca_file=self.ca_file)
        return ClientTls(
            ca_file=self.ca_file,
            cert_file=self.directory / f"{who}.crt",
            key_file=self.directory / f"{who}.key",
        )

    def pod_secret(self, directory: Path) -> None:
        """What a `kubernetes.io/tls` Secret with `ca.crt` holds (cert-manager's layout):
        one certificate for serving and for dialling, its key, the CA."""
        certificate, key = self.authority.issue(name("pod"), server=True, client_too=True)
        write_pair(directory, "tls", certificate, key)
        write_certificate(directory / "ca.crt", self.authority.certificate)

    def rotated_server(self, directory: Path, common_name: str) -> tuple[Path, Path]:
        """A new server certificate (subject CN=`common_name`) written over the files in
        `directory`, the way a renewal replaces them."""
        return write_pair(
            directory, "server", *self.authority.issue(name(common_name), server=True)
        )


async def served_common_name(
    port: int, pki: Pki, client: ClientTls | None = None, *, alpn: str = "h2"
) -> str:
    """The common name of the certificate a server on 127.0.0.1:`port` presents to a
    new connection (a fresh TLS handshake, checked against the test CA), made in a
    thread so a server in this event loop can answer."""
    return await asyncio.to_thread(_served_common_name, port, pki, client, alpn)


def _served_common_name(port: int, pki: Pki, client: ClientTls | None, alpn: str) -> str:
    context = ssl.create_default_context(cafile=pki.ca_file)
    context.set_alpn_protocols([alpn])
    if client is not None and client.cert_file is not None and client.key_file is not None:
        context.load_cert_chain(client.cert_file, client.key_file)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5.0) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    names = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value)
