"""Who is calling, as the client certificate of an mTLS connection says.

For the servers' authorization: a principal named by a certificate the
connection's handshake verified, never by anything the caller puts in metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc.aio
from cryptography import x509

ServicerContext = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True)
class ClientCertificate:
    """The identity in a verified client certificate."""

    subject: str
    """The subject as an RFC 4514 string, e.g. "CN=billing-writer,O=Example"."""
    common_name: str | None
    dns_names: tuple[str, ...]
    uris: tuple[str, ...]
    """URI SANs, e.g. a SPIFFE ID "spiffe://example.org/ns/billing/sa/writer"."""


def client_certificate(context: ServicerContext) -> ClientCertificate | None:
    """The calling connection's client certificate, or None when there is none.

    Contract: a value is returned only when the call arrived over TLS and the
    peer presented a certificate in the handshake. extplane's servers ask for
    one only when `TlsSettings.client_certificates_required` is true, and then
    refuse the handshake unless the certificate chains to `client_ca_file`, is
    within its validity period and is meant for client authentication — so on
    those servers a returned value is always verified. On a plaintext or
    TLS-only server the answer is always None: treat it as "unauthenticated",
    never as an error. Nothing in the call's metadata can change the answer.
    """
    properties = context.auth_context()
    if list(properties.get("transport_security_type", ())) != [b"ssl"]:
        return None
    pem = list(properties.get("x509_pem_cert", ()))
    if not pem:
        return None
    certificate = x509.load_pem_x509_certificate(pem[0])
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
        uris = tuple(san.get_values_for_type(x509.UniformResourceIdentifier))
    except x509.ExtensionNotFound:
        dns_names, uris = (), ()
    return ClientCertificate(
        subject=certificate.subject.rfc4514_string(),
        common_name=str(names[0].value) if names else None,
        dns_names=dns_names,
        uris=uris,
    )


def client_certificate_subject(context: ServicerContext) -> str | None:
    """The verified client certificate's subject (RFC 4514, e.g. "CN=writer,O=Example"),
    or None when the call carries no client certificate; see `client_certificate`
    for when a certificate is present and verified."""
    found = client_certificate(context)
    return None if found is None else found.subject
