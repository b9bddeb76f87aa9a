"""What a `kube` credential may hold, checked before it is stored. Sans I/O.

A token user: the token is the secret, one line of printable characters. A client-certificate
user: the certificate (PEM) and its private key (PEM, unencrypted: kubectl could not use an
encrypted one), which must belong together. Messages name the rule, never the value.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

_PUBLIC = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_kube_body(secret: str, certificate: str | None, expires_at: datetime | None) -> None:
    """Raise ValueError (a 400 for the API) when the parts do not make a Kubernetes user."""
    if expires_at is not None:
        raise ValueError("a kube credential takes no expires_at (use an oauth2 credential)")
    if certificate is None:
        if not secret or not secret.isprintable() or any(ch.isspace() for ch in secret):
            raise ValueError(
                "a kube token is one line of printable characters without spaces; a client "
                "certificate user gives client_certificate and its key as the secret"
            )
        return
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise ValueError("client_certificate is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(secret.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(
            "the secret of a client-certificate user is its private key in PEM, unencrypted"
        ) from None
    if key.public_key().public_bytes(*_PUBLIC) != cert.public_key().public_bytes(*_PUBLIC):
        raise ValueError("the private key does not belong to client_certificate")
