"""What `credd import` reads: plaintext credential files, parsed into credentials to store.

Sans I/O: each parser takes the file's text and returns `Entry` objects (the credential's
name and its PUT body), or raises `SourceError` naming the line or key at fault, never a
value. The formats:

- git's ``~/.git-credentials``: a line ``protocol://user:password@host[:port][/path]`` per
  credential, user and password percent-encoded (what ``git credential-store`` writes).
- docker's ``config.json``: ``auths`` maps a server URL to ``{"auth": base64("user:pass")}``
  or ``{"identitytoken": "..."}``; an entry with neither is already in a helper, skipped.
- credd's JSON: ``{"credentials": [{"name": ..., "secret": ..., "username": ...,
  "labels": {...}}, ...]}``, each object a PUT body plus its name (``credd get --json``
  output is accepted as is: the fields the daemon computes are dropped).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from credd_client.names import GitTarget, docker_name

# Fields of `credd get --json` that the daemon computes and a PUT body must not carry.
COMPUTED_FIELDS = (
    "name",
    "created_at",
    "updated_at",
    "status",
    "last_error",
    "next_refresh_at",
    "origin",
)


class SourceError(Exception):
    """The source cannot be read as it should; the message never quotes a value."""


@dataclass(frozen=True)
class Entry:
    name: str
    body: dict[str, Any] = field(repr=False)
    origin: str  # where in the source: "line 3", "auths[ghcr.io]"


def detect(text: str) -> str:
    """``git``, ``docker`` or ``json``: the format of a file's text."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise SourceError("the file looks like JSON but does not parse") from None
        if isinstance(data, dict) and "auths" in data:
            return "docker"
        if isinstance(data, dict) and isinstance(data.get("credentials"), list):
            return "json"
        raise SourceError(
            "a JSON file with neither 'auths' (docker) nor 'credentials' (credd) in it"
        )
    first = next((line for line in stripped.splitlines() if line.strip()), "")
    if "://" in first:
        return "git"
    raise SourceError("not a git-credentials file, a docker config.json or a credd JSON file")


def parse_git_credentials(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"line {number}"
        try:
            url = urlsplit(line)
            hostname = url.hostname
        except ValueError:
            raise SourceError(f"{where} is not a URL") from None
        netloc = url.netloc.rpartition("@")[2]
        if not url.scheme or not hostname or url.username is None or url.password is None:
            raise SourceError(f"{where} is not protocol://user:password@host[/path]")
        target = GitTarget(url.scheme, netloc, unquote(url.path), unquote(url.username))
        body = {
            "kind": "secret",
            "secret": unquote(url.password),
            "username": target.username,
            "labels": target.labels(),
        }
        entries.append(Entry(target.name(), body, where))
    return entries


def parse_docker_config(text: str) -> list[Entry]:
    data = _json_object(text)
    auths = data.get("auths", {})
    if not isinstance(auths, dict):
        raise SourceError("'auths' is not an object")
    entries: list[Entry] = []
    for server, auth in auths.items():
        where = f"auths[{server}]"
        if not isinstance(auth, dict):
            raise SourceError(f"{where} is not an object")
        username, secret = _docker_login(auth, where)
        if secret is None:
            continue  # nothing in plaintext: already in a credential helper
        body = {
            "kind": "secret",
            "secret": secret,
            "username": username,
            "labels": {"registry": server},
        }
        entries.append(Entry(docker_name(server), body, where))
    return entries


def _docker_login(auth: dict[str, Any], where: str) -> tuple[str, str | None]:
    token = auth.get("identitytoken")
    if isinstance(token, str) and token:
        return "<token>", token  # what docker itself hands a helper for an identity token
    encoded = auth.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise SourceError(f"{where}.auth is not base64 of user:password") from None
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            raise SourceError(f"{where}.auth is not base64 of user:password")
        return username, password
    plain_user, plain_password = auth.get("username"), auth.get("password")
    if isinstance(plain_user, str) and isinstance(plain_password, str) and plain_user:
        return plain_user, plain_password
    return "", None


def parse_credd_json(text: str) -> list[Entry]:
    data = _json_object(text)
    items = data.get("credentials")
    if not isinstance(items, list):
        raise SourceError("'credentials' is not a list")
    entries: list[Entry] = []
    for index, item in enumerate(items):
        where = f"credentials[{index}]"
        if not isinstance(item, dict):
            raise SourceError(f"{where} is not an object")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise SourceError(f"{where} has no 'name'")
        if not isinstance(item.get("secret"), str):
            raise SourceError(f"{where} ({name}) has no 'secret' string")
        body = {key: value for key, value in item.items() if key not in COMPUTED_FIELDS}
        body = {key: value for key, value in body.items() if value is not None}
        body.setdefault("kind", "secret")
        entries.append(Entry(name, body, where))
    return entries


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        # Not the parser's message: it quotes the text around the error, a secret maybe.
        raise SourceError("the file is not valid JSON") from None
    if not isinstance(data, dict):
        raise SourceError("the file is not a JSON object")
    return data


def docker_without(text: str, servers: set[str]) -> str:
    """The config.json with the plaintext logins of ``servers`` dropped and credd as the store.

    An entry keeps its other keys (docker leaves ``{}`` behind for a helper's logins).
    """
    data = _json_object(text)
    auths = data.get("auths", {})
    for server in servers:
        entry = auths.get(server)
        if isinstance(entry, dict):
            for key in ("auth", "identitytoken", "username", "password"):
                entry.pop(key, None)
    data["credsStore"] = "credd"
    return json.dumps(data, indent="\t") + "\n"


PARSERS = {
    "git": parse_git_credentials,
    "docker": parse_docker_config,
    "json": parse_credd_json,
}
