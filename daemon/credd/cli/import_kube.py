"""`credd import kube`: a kubeconfig's plaintext users into credd, each entry then rewritten to
call `credd kube` (with `--remove-source`).

The kubeconfig is `KUBECONFIG` (several files, separated like PATH: each user is taken from,
and rewritten in, the file that defines it first, as kubectl merges them) or
`~/.kube/config`. A user's token, client certificate and key (inline `*-data` or file paths,
relative to the kubeconfig's folder) or OIDC `auth-provider` refresh token become
`kube:USER`: kind `kube`, or `oauth2` for OIDC (its token endpoint discovered from
`idp-issuer-url`, so credd refreshes the ID token in the background). Password users are
left as they are, with a warning: an exec plugin cannot answer basic auth.

The rewritten files are computed, and checked, before anything is imported; a dry run shows
the new entries (never the old ones: they hold the secrets).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..kube.kubeconfig import (
    KubeconfigError,
    KubeconfigFile,
    KubeUser,
    decoded_data,
    exec_user,
    first_definitions,
    load,
    rewrite,
    users,
)
from ..oauth.idtoken import jwt_expiry
from ..store.records import format_time, utc_now
from .import_sources import Entry, SourceError


def kubeconfig_paths(environ: Mapping[str, str]) -> list[str]:
    listed = environ.get("KUBECONFIG", "")
    paths = [os.path.abspath(os.path.expanduser(p)) for p in listed.split(os.pathsep) if p]
    return list(dict.fromkeys(paths)) or [os.path.expanduser("~/.kube/config")]


def credd_command() -> str:
    """The absolute path of this `credd`: GUI-started IDEs often lack its folder on PATH."""
    running = os.path.abspath(sys.argv[0])
    if os.path.basename(running).startswith("credd") and os.access(running, os.X_OK):
        return running
    found = shutil.which("credd")
    if found is None:
        raise SourceError("cannot tell where the credd command is: put it on PATH")
    return os.path.abspath(found)


class KubeImport:
    """What `credd import kube` reads and what it would write back."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.files = _read_files(kubeconfig_paths(environ))
        self.entries: list[Entry] = []
        self.notes: list[str] = []
        self.preview: list[str] = []
        self.rewritten: dict[str, bytes] = {}
        command = credd_command()
        replacements: dict[str, dict[int, dict[str, Any]]] = {}
        for config, user in first_definitions(self.files):
            where = f"{config.path}: users[{user.index}] ({user.name})"
            if user.kind == "password":
                self.notes.append(
                    f"warning: {where} signs in with a password (basic auth), which an exec "
                    "plugin cannot answer; left as it is"
                )
                continue
            if user.kind == "other":
                continue
            body = _body(config, user)
            self.entries.append(Entry(user.credential_name, body, where))
            new = exec_user(command, user.credential_name)
            replacements.setdefault(config.path, {})[user.index] = new
            self.preview.append(f"would rewrite {where} to: {_one_line(new)}")
            provider = user.fields.get("auth-provider")
            settings = provider.get("config") if isinstance(provider, dict) else None
            if isinstance(settings, dict) and any("certificate-authority" in k for k in settings):
                self.notes.append(
                    f"warning: {where} names its issuer's certificate authority, which credd "
                    "does not carry over: its refreshes trust the system's CAs"
                )
            for key in ("client-certificate", "client-key"):
                if isinstance(user.fields.get(key), str):
                    self.notes.append(
                        f"note: {where} reads {key} from a file, which stays where it is: "
                        "delete it once kubectl works through credd"
                    )
        for config in self.files:
            if config.path in replacements:
                try:
                    new_text = rewrite(config.text, replacements[config.path])
                except KubeconfigError as exc:
                    raise SourceError(f"{config.path}: {exc}") from None
                self.rewritten[config.path] = new_text.encode("utf-8")

    @property
    def description(self) -> str:
        return ", ".join(config.path for config in self.files) + " (kubeconfig)"

    def clear(
        self,
        check_unchanged: Callable[[str, bytes], None],
        replace_file: Callable[[str, bytes], None],
    ) -> None:
        """Rewrite each file that defines an imported user, if it did not change meanwhile."""
        originals = {config.path: config.text.encode("utf-8") for config in self.files}
        for path in self.rewritten:
            check_unchanged(path, originals[path])
        for path, data in self.rewritten.items():
            replace_file(path, data)


def _read_files(paths: list[str]) -> list[KubeconfigFile]:
    files = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            continue  # kubectl skips a missing KUBECONFIG file too
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"{path} is not UTF-8 text") from None
        if text.encode("utf-8") != raw:  # cannot happen for UTF-8, but a rewrite relies on it
            raise SourceError(f"{path} does not round-trip as UTF-8 text")
        try:
            found = users(load(text))
        except KubeconfigError as exc:
            raise SourceError(f"{path}: {exc}") from None
        files.append(KubeconfigFile(path, text, found))
    if not files:
        raise SourceError(f"no kubeconfig: {' nor '.join(paths)} exists")
    return files


def _body(config: KubeconfigFile, user: KubeUser) -> dict[str, Any]:
    labels = {"kubeconfig_user": user.name}
    fields = user.fields
    where = f"{config.path}: user {user.name!r}"
    if user.kind == "token":
        token = fields.get("token")
        if not isinstance(token, str) or not token:
            raise SourceError(f"{where}: its token is not text")
        return {"kind": "kube", "secret": token, "labels": labels}
    if user.kind == "certificate":
        try:
            certificate = _pem(config, user, "client-certificate")
            key = _pem(config, user, "client-key")
        except KubeconfigError as exc:
            raise SourceError(f"{config.path}: {exc}") from None
        return {"kind": "kube", "secret": key, "client_certificate": certificate, "labels": labels}
    return _oidc_body(where, fields["auth-provider"].get("config"), labels)


def _pem(config: KubeconfigFile, user: KubeUser, key: str) -> str:
    if f"{key}-data" in user.fields:
        return decoded_data(user, f"{key}-data")
    path = user.fields.get(key)
    if not isinstance(path, str) or not path:
        raise KubeconfigError(f"user {user.name!r} has a client key without its {key}")
    path = os.path.join(os.path.dirname(config.path), os.path.expanduser(path))
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not a PEM file"
        raise KubeconfigError(f"user {user.name!r}: cannot read its {key} {path}: {why}") from None


def _oidc_body(where: str, settings: Any, labels: dict[str, str]) -> dict[str, Any]:
    """An `oauth2` credential for an `auth-provider: oidc` user: credd refreshes it."""
    if not isinstance(settings, dict):
        raise SourceError(f"{where}: its oidc auth-provider has no config")
    issuer, client_id = settings.get("idp-issuer-url"), settings.get("client-id")
    refresh_token, id_token = settings.get("refresh-token"), settings.get("id-token")
    if not isinstance(issuer, str) or not isinstance(client_id, str):
        raise SourceError(f"{where}: its oidc config lacks idp-issuer-url or client-id")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise SourceError(
            f"{where}: its oidc config holds no refresh-token to keep it fresh; log in with "
            f"`credd login kube:NAME --issuer {issuer}` instead"
        )
    import httpx

    from ..oauth.issuer import LoginFailed, discover
    from ..oauth.login import HTTP_TIMEOUT

    try:
        with httpx.Client(timeout=HTTP_TIMEOUT) as http:
            metadata = discover(http, issuer)
    except LoginFailed as exc:
        raise SourceError(f"{where}: {exc}") from None
    client_secret = settings.get("client-secret")
    body: dict[str, Any] = {
        "kind": "oauth2",
        "secret": id_token if isinstance(id_token, str) else "",
        "token_endpoint": metadata["token_endpoint"],
        "client_id": client_id,
        "token_endpoint_auth_method": "client_secret_basic" if client_secret else "none",
        "refresh_token": refresh_token,
        "labels": {**labels, "issuer": issuer},
    }
    if isinstance(client_secret, str) and client_secret:
        body["client_secret"] = client_secret
    expiry = None
    if isinstance(id_token, str) and id_token:
        body["id_token"] = id_token
        expiry = jwt_expiry(id_token)
    # No usable expiry: due now, so the daemon refreshes it at once.
    body["expires_at"] = format_time(expiry or utc_now())
    return body


def _one_line(user: dict[str, Any]) -> str:
    spec = user["exec"]
    return (
        f"exec: {{apiVersion: {spec['apiVersion']}, command: {spec['command']}, "
        f"args: [{', '.join(spec['args'])}], interactiveMode: {spec['interactiveMode']}}}"
    )
