"""`Client`: the daemon's HTTP API as Python calls.

Every answer is checked here: a 2xx answer must be the JSON the contract promises, any
other answer must be the error envelope ``{"error": {"code", "message"}}``, which becomes the
matching `CreddError` subclass. Anything else is a `ProtocolError` that names the HTTP
status and nothing of the body, which could hold a secret.
"""

from __future__ import annotations

import builtins
import os
from itertools import chain

from ._paths import socket_path as default_socket_path
from ._transport import NoDaemon, UnixTransport
from .errors import CreddError, InvalidRequest, ProtocolError, error_for_code
from .models import Credential, KubeCredential, Status

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from ._transport import Response
    from .watch import Watch

_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_ACCEPT_TEXT = {"Accept": "text/plain"}
_TEXT_OR_NONE = frozenset({str, type(None)})
_PERCENT_ENCODED = tuple(
    chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in range(256)
)


class Client:
    """A connection to the credd daemon of this user.

    Keeps one connection open between calls; use it as a context manager, or call
    `close`. Not thread-safe: one `Client` per thread.
    """

    def __init__(
        self, socket_path: str | None = None, timeout: float = 10.0, autostart: bool | None = None
    ) -> None:
        """``autostart``: start a daemon when none answers; None decides as the contract says
        (``CREDD_AUTOSTART``, else ``autostart`` in config.toml), read only when needed."""
        self.socket_path = default_socket_path() if socket_path is None else socket_path
        self._transport = UnixTransport(self.socket_path, timeout)
        self._autostart = autostart
        self.timeout = timeout

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; a later call opens a new one."""
        self._transport.close()

    def status(self) -> Status:
        """The daemon's health: pid, version, key backend, lock state, store, counts."""
        return Status.from_json(self._call("GET", "/v1/status"))

    def list(self) -> builtins.list[Credential]:
        """Every credential's metadata, without secret values."""
        return [Credential.from_json(item) for item in self._listed()]

    def list_fields(self, *fields: str) -> builtins.list[tuple[str | None, ...]]:
        """The named text fields of every credential (None where absent), in list order.

        What `credd list` prints, without building a `Credential` per credential (for
        10,000 of them, most of the time `list` takes), and asking the daemon for these
        fields only (`?fields=`): a third of the bytes to read and decode.
        """
        target = "/v1/credentials?fields=" + ",".join(map(encode_path_segment, fields))
        rows = [tuple(map(item.get, fields)) for item in self._listed(target)]
        if not set(map(type, chain.from_iterable(rows))) <= _TEXT_OR_NONE:
            raise ProtocolError("unexpected answer from the daemon: a listed field is not text")
        return rows

    def _listed(self, target: str = "/v1/credentials") -> builtins.list[dict[str, Any]]:
        items = self._call("GET", target).get("credentials")
        if not isinstance(items, builtins.list) or not all(isinstance(i, dict) for i in items):
            raise ProtocolError(
                "unexpected answer from the daemon: 'credentials' is not a list of objects"
            )
        return items

    def get(self, name: str, include: Iterable[str] = ()) -> Credential:
        """The credential with its secret; for oauth2, an access token fresh enough to use.

        ``include`` asks for the fields only returned on request: ``"refresh_token"``,
        ``"client_secret"``.
        """
        wanted = (include,) if isinstance(include, str) else tuple(include)
        target = _credential_path(name)
        if wanted:
            target += "?include=" + ",".join(map(encode_path_segment, wanted))
        return Credential.from_json(self._call("GET", target))

    def get_secret(self, name: str) -> str:
        """The credential's secret alone, as `get(name).secret`, asked as plain text.

        The daemon answers ``Accept: text/plain`` with the secret as the body, which needs
        no JSON decoder (`credd get` and the helpers start faster); a daemon that answers
        JSON anyway is read as JSON.
        """
        response = self._send("GET", _credential_path(name), headers=_ACCEPT_TEXT)
        if response.headers.get("content-type", "").startswith("text/plain"):
            try:
                return response.body.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(
                    "unexpected answer from the daemon: a text/plain secret that is not UTF-8"
                ) from None
        secret = Credential.from_json(self._json_object(response)).secret
        if secret is None:
            raise ProtocolError("unexpected answer from the daemon: no secret")
        return secret

    def kube(self, name: str) -> KubeCredential:
        """What a Kubernetes exec credential plugin answers: a fresh token and its expiry
        (for an OpenID Connect login, its ID token), or a client certificate and its key."""
        if not name:
            raise InvalidRequest("a credential name cannot be empty")
        try:
            target = "/v1/kube/" + encode_path_segment(name)
        except UnicodeEncodeError:
            raise InvalidRequest("a credential name must be valid Unicode text") from None
        return KubeCredential.from_json(self._call("GET", target))

    def put(self, name: str, body: Mapping[str, Any]) -> Credential:
        """Create or replace a credential; ``body`` is the credential as the API's JSON."""
        return Credential.from_json(self._call("PUT", _credential_path(name), body))

    def set_secret(
        self,
        name: str,
        secret: str,
        *,
        username: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Credential:
        """Create or replace a plain secret (kind ``secret``)."""
        labels = dict(labels or {})
        return self.put(
            name, {"kind": "secret", "secret": secret, "username": username, "labels": labels}
        )

    def delete(self, name: str) -> None:
        """Remove a credential; `NotFound` if there is none by that name."""
        self._send("DELETE", _credential_path(name))

    def refresh(self, name: str) -> Credential:
        """Refresh an oauth2 credential's access token now, and return it."""
        return Credential.from_json(self._call("POST", _credential_path(name) + "/refresh"))

    def get_registration(self, issuer: str) -> dict[str, Any]:
        """The client credd registered with ``issuer`` (RFC 7591), secrets included."""
        return self._call("GET", "/v1/registration?issuer=" + encode_path_segment(issuer))

    def put_registration(self, registration: Mapping[str, Any]) -> dict[str, Any]:
        """Keep a client registration (its ``issuer``, ``client_id``, secrets) in the store."""
        return self._call("PUT", "/v1/registration", registration)

    def delete_registration(self, issuer: str) -> None:
        """Forget the client registered with ``issuer``; `NotFound` if there is none."""
        self._send("DELETE", "/v1/registration?issuer=" + encode_path_segment(issuer))

    def views(self) -> builtins.list[dict[str, Any]]:
        """The daemon's views: name, patterns, write, uids, socket, expiry, last use."""
        views = self._call("GET", "/v1/views").get("views")
        if not isinstance(views, builtins.list) or not all(isinstance(v, dict) for v in views):
            raise ProtocolError("unexpected answer from the daemon: 'views' is not a list")
        return views

    def put_view(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Make or replace a view (``patterns``, ``write``, ``ttl``, ``uids``); returns it."""
        return self._call("PUT", "/v1/views/" + encode_path_segment(name), body)

    def delete_view(self, name: str) -> None:
        """Remove a view: its socket and its connections close at once."""
        self._send("DELETE", "/v1/views/" + encode_path_segment(name))

    def lock(self) -> None:
        """Make the daemon drop its key and every plaintext until `unlock`."""
        self._send("POST", "/v1/lock")

    def unlock(self, passphrase: str | None = None) -> None:
        """Make the daemon fetch its key again; a store sealed with a passphrase needs it."""
        if passphrase is None:
            self._send("POST", "/v1/unlock")
        else:
            self._send("POST", "/v1/unlock", {"passphrase": passphrase})

    def rekey(self, to: str, passphrase: str | None = None) -> dict[str, Any]:
        """Re-encrypt the store under another key source: keyring, keyfile or passphrase."""
        body: dict[str, Any] = {"to": to}
        if passphrase is not None:
            body["passphrase"] = passphrase
        return self._call("POST", "/v1/rekey", body)

    def watch(
        self,
        names: Iterable[str] | None = None,
        *,
        holder: str | None = None,
        versions: Mapping[str, int] | None = None,
    ) -> Watch:
        """Change events (`Event`: type, name, version) of ``names`` (None: every credential),
        across daemon restarts; ``holder`` ("exec", "render") is what `credd status` shows
        this process as. ``versions``: the versions the caller read before watching; what
        moved since is yielded at the first connection too. Runs until `Watch.close`; see
        `credd_client.watch`."""
        from .watch import Watch

        return Watch(self, names, holder, versions)

    def _may_autostart(self) -> bool:
        if self._autostart is None:
            from ._autostart import enabled

            self._autostart = enabled(os.environ)
        return self._autostart

    def backup(self, passphrase: str) -> bytes:
        """Every credential, sealed by the daemon under ``passphrase`` (scrypt, AES-256-GCM)."""
        import base64
        import binascii

        answer = self._call("POST", "/v1/backup", {"passphrase": passphrase})
        text = answer.get("backup")
        try:
            if not isinstance(text, str):
                raise ValueError
            return base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            raise ProtocolError(
                "unexpected answer from the daemon: 'backup' is not base64"
            ) from None

    def restore(
        self, backup: bytes, passphrase: str, *, overwrite: bool = False
    ) -> dict[str, builtins.list[str]]:
        """Merge a backup into the store; returns the names ``added``, ``unchanged``,
        ``replaced`` (with ``overwrite``) and ``kept`` (present, different, not overwritten)."""
        import base64

        body = {
            "backup": base64.b64encode(backup).decode(),
            "passphrase": passphrase,
            "overwrite": overwrite,
        }
        answer = self._call("POST", "/v1/restore", body)
        report: dict[str, builtins.list[str]] = {}
        for key in ("added", "unchanged", "replaced", "kept"):
            names = answer.get(key)
            if not isinstance(names, builtins.list) or not all(isinstance(n, str) for n in names):
                raise ProtocolError(f"unexpected answer from the daemon: {key!r} is not a list")
            report[key] = names
        return report

    def import_credentials(
        self,
        credentials: Iterable[Mapping[str, Any]],
        *,
        overwrite: bool = False,
        dry_run: bool = False,
    ) -> tuple[builtins.list[tuple[str, str]], bool]:
        """Many credentials (PUT bodies with their ``name``) in one durable commit.

        Returns ``(name, action)`` for each, in order (``add``, ``replace``, ``unchanged``,
        ``conflict``), and whether the store was written. All or nothing: on any error,
        nothing is written. With ``dry_run``, compares only.
        """
        body = {"credentials": list(credentials), "overwrite": overwrite, "dry_run": dry_run}
        answer = self._call("POST", "/v1/import", body)
        results, written = answer.get("results"), answer.get("written")
        if not isinstance(results, builtins.list) or not isinstance(written, bool):
            raise ProtocolError("unexpected answer from the daemon: not an import's results")
        actions: builtins.list[tuple[str, str]] = []
        for item in results:
            name = item.get("name") if isinstance(item, dict) else None
            action = item.get("action") if isinstance(item, dict) else None
            if not isinstance(name, str) or not isinstance(action, str):
                raise ProtocolError("unexpected answer from the daemon: an import result")
            actions.append((name, action))
        return actions, written

    def reset(self) -> str | None:
        """Move aside a store the daemon cannot open and start an empty one; where it went."""
        moved = self._call("POST", "/v1/reset").get("moved_to")
        if moved is not None and not isinstance(moved, str):
            raise ProtocolError("unexpected answer from the daemon: 'moved_to' is not text")
        return moved

    # --- SSH keys (issue 20): the agent's keys; no call answers a private key ---------------

    def ssh_keys(self) -> builtins.list[Credential]:
        """Every ssh-key, in the order the agent offers them."""
        return self._credentials("GET", "/v1/ssh-keys")

    def import_ssh_keys(
        self, keys: Iterable[Mapping[str, Any]], *, dry_run: bool = False
    ) -> tuple[builtins.list[tuple[str, str, str]], bool]:
        """Store unencrypted private keys (``stem``, ``private_key``, ``allowed_programs``)
        in one durable commit. Returns ``(name, action, fingerprint)`` for each, in order
        (``add``, ``unchanged``, ``offered``), and whether the store was written."""
        answer = self._call("POST", "/v1/ssh-keys", {"keys": list(keys), "dry_run": dry_run})
        results, written = answer.get("results"), answer.get("written")
        if not isinstance(results, builtins.list) or not isinstance(written, bool):
            raise ProtocolError("unexpected answer from the daemon: not an import's results")
        rows: builtins.list[tuple[str, str, str]] = []
        for item in results:
            if not isinstance(item, dict):
                raise ProtocolError("unexpected answer from the daemon: an ssh-key import result")
            name, action, fingerprint = (
                _text(item, key) for key in ("name", "action", "fingerprint")
            )
            rows.append((name, action, fingerprint))
        return rows, written

    def generate_ssh_key(
        self,
        name: str,
        key_type: str = "ed25519",
        comment: str = "",
        allowed_programs: Iterable[str] = (),
    ) -> Credential:
        """A new key made by the daemon; its ``secret`` is the public key line."""
        body = {
            "name": name,
            "type": key_type,
            "comment": comment,
            "allowed_programs": builtins.list(allowed_programs),
        }
        return Credential.from_json(self._call("POST", "/v1/ssh-keys/generate", body))

    def order_ssh_keys(self, names: Iterable[str]) -> builtins.list[Credential]:
        """Offer these keys first, in this order; returns every key in the new order."""
        return self._credentials("PUT", "/v1/ssh-keys/order", {"names": builtins.list(names)})

    def offer_ssh_keys(self, names: Iterable[str]) -> builtins.list[Credential]:
        """Offer keys again that `ssh-add -d` stopped offering."""
        return self._credentials("POST", "/v1/ssh-keys/offer", {"names": builtins.list(names)})

    def _credentials(
        self, method: str, target: str, body: Mapping[str, Any] | None = None
    ) -> builtins.list[Credential]:
        items = self._call(method, target, body).get("credentials")
        if not isinstance(items, builtins.list) or not all(isinstance(i, dict) for i in items):
            raise ProtocolError(
                "unexpected answer from the daemon: 'credentials' is not a list of objects"
            )
        return [Credential.from_json(item) for item in items]

    def aws_credentials(self, name: str) -> dict[str, Any]:
        """AWS's `credential_process` document for an aws credential (`credd aws NAME`)."""
        return self._call("GET", _credential_path(name, "/v1/aws/"))

    def aws_login(self, name: str, code: str) -> dict[str, Any]:
        """Start the MFA session of an aws credential with the device's code."""
        return self._call("POST", _credential_path(name, "/v1/aws/") + "/login", {"code": code})

    def _call(
        self, method: str, target: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a request whose successful answer is a JSON object, and return that object."""
        return self._json_object(self._send(method, target, body))

    @staticmethod
    def _json_object(response: Response) -> dict[str, Any]:
        from ._jsonwire import loads

        try:
            answer = loads(response.body)
        except (ValueError, RecursionError):
            answer = None
        if not isinstance(answer, dict):
            raise ProtocolError(
                f"unexpected answer from the daemon (HTTP {response.status}): not a JSON object"
            )
        return answer

    def _send(
        self,
        method: str,
        target: str,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request; raise the error a non-2xx answer stands for."""
        payload = None
        if body is not None:
            import json

            payload = json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._transport.request(method, target, payload, headers)
        except NoDaemon:
            if not self._may_autostart():
                raise
            from ._autostart import start_daemon

            start_daemon(self.socket_path, os.environ)
            response = self._transport.request(method, target, payload, headers)
        if not 200 <= response.status < 300:
            raise error_from(response)
        return response


def encode_path_segment(text: str) -> str:
    """Percent-encode text for one path segment: UTF-8, all but RFC 3986 unreserved bytes.

    The same output as ``urllib.parse.quote(text, safe="")`` without importing urllib,
    except for the segments "." and "..", encoded whole so that no URL normalisation along
    the way can read them as "this folder" or "the parent folder".
    """
    if text in (".", ".."):
        return "%2E" * len(text)
    return "".join(map(_PERCENT_ENCODED.__getitem__, text.encode("utf-8")))


def _credential_path(name: str, prefix: str = "/v1/credentials/") -> str:
    if not name:
        raise InvalidRequest("a credential name cannot be empty")
    try:
        return prefix + encode_path_segment(name)
    except UnicodeEncodeError:
        raise InvalidRequest("a credential name must be valid Unicode text") from None


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"unexpected answer from the daemon: {key!r} is not text")
    return value


def error_from(response: Response) -> CreddError:
    from ._jsonwire import loads

    try:
        envelope = loads(response.body)
    except (ValueError, RecursionError):
        envelope = None
    error = envelope.get("error") if isinstance(envelope, dict) else None
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        if isinstance(code, str) and isinstance(message, str):
            return error_for_code(code, message)
    return ProtocolError(f"unexpected answer from the daemon (HTTP {response.status})")
