"""A small Kubernetes API server for kubectl: HTTPS on 127.0.0.1, `GET /api` and nothing else,
answered only to a request carrying a credential it was told to accept.

    with KubeAPI() as api:                  # a self-signed certificate made with cryptography
        api.accept_token("t0ken")           # a static bearer token
        api.accept_certificate(pem)         # a client certificate (TLS client authentication)
        api.accept_oidc(issuer, "kubectl")  # a JWT signed by the issuer's JWKS, this audience
        api.url                             # https://127.0.0.1:<port>
        api.seen                            # how each answered request authenticated

The OIDC check is the API server's: the ID token's signature against the issuer's JWKS
(discovered from its metadata), its `iss`, its `aud` and its `exp`. A kubeconfig reaches it
with `insecure-skip-tls-verify: true`.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.certs import self_signed

API_VERSIONS = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class OIDCVerifier:
    """What a Kubernetes API server's `--oidc-issuer-url` and `--oidc-client-id` check."""

    def __init__(self, issuer: str, audience: str) -> None:
        self.issuer = issuer
        self.audience = audience
        metadata = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        jwks = httpx.get(metadata["jwks_uri"], timeout=10).json()
        self.keys = {
            key["kid"]: rsa.RSAPublicNumbers(
                int.from_bytes(_b64(key["e"])), int.from_bytes(_b64(key["n"]))
            ).public_key()
            for key in jwks["keys"]
            if key.get("kty") == "RSA"
        }

    def subject(self, token: str) -> str | None:
        """The token's `sub` when it is valid, else None."""
        try:
            head, body, signature = token.split(".")
            header, claims = json.loads(_b64(head)), json.loads(_b64(body))
            key = self.keys[header["kid"]]
            if header.get("alg") != "RS256":
                return None
            key.verify(
                _b64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (ValueError, KeyError, InvalidSignature):
            return None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != self.issuer or self.audience not in audiences:
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        who = self.server.api.authenticate(self)
        if who is None or self.path != "/api":
            status = 401 if who is None else 404
            body = json.dumps({"kind": "Status", "status": "Failure", "code": status}).encode()
        else:
            status, body = 200, json.dumps(API_VERSIONS).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the headers hold tokens


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: KubeAPI


class KubeAPI:
    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.certificates: set[bytes] = set()
        self.oidc: OIDCVerifier | None = None
        self.seen: list[str] = []  # "token", "certificate", "oidc:SUBJECT", "refused"
        self.oidc_tokens: list[str] = []  # each ID token accepted, in order
        self._trusted: list[str] = []
        self._server: _Server | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="kube-api-")
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def accept_token(self, token: str) -> None:
        self.tokens.add(token)

    def accept_certificate(self, pem: str) -> None:
        certificate = x509.load_pem_x509_certificate(pem.encode())
        self.certificates.add(certificate.public_bytes(serialization.Encoding.DER))
        self._context.load_verify_locations(cadata=pem)

    def accept_oidc(self, issuer: str, audience: str) -> None:
        self.oidc = OIDCVerifier(issuer, audience)

    def authenticate(self, request: BaseHTTPRequestHandler) -> str | None:
        peer = request.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        who = None
        if peer is not None and peer in self.certificates:
            who = "certificate"
        elif token is not None and token in self.tokens:
            who = "token"
        elif token is not None and self.oidc is not None:
            subject = self.oidc.subject(token)
            if subject is not None:
                who = f"oidc:{subject}"
                with self._lock:
                    self.oidc_tokens.append(token)
        with self._lock:
            self.seen.append(who or "refused")
        return who

    def __enter__(self) -> KubeAPI:
        pair = self_signed("127.0.0.1", server=True)
        folder = Path(self._folder.name)
        (folder / "cert.pem").write_text(pair.certificate_pem)
        (folder / "key.pem").write_text(pair.key_pem)
        self._context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        self._context.verify_mode = ssl.CERT_OPTIONAL
        server = _Server(("127.0.0.1", 0), _Handler)
        server.api = self
        server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._folder.cleanup()
