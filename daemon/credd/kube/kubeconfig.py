"""A kubeconfig's users, read and rewritten to call credd. Sans I/O: text in, text out.

Reading: every entry of `users` is classified by what it holds in plaintext:

    token                                   a token user            -> kind kube
    client-certificate(-data) + client-key(-data)                   -> kind kube, cert + key
    auth-provider: {name: oidc, config: {refresh-token, ...}}       -> kind oauth2 (OIDC)
    username + password                     basic auth: left as it is, with a warning
    anything else (exec, tokenFile, ...)    nothing in plaintext to move

Rewriting edits the text of one entry's `user:` value and nothing else: every other byte of
the file (comments, order, quoting, line endings) stays as it was. The result is parsed again
and must equal the original document with only those entries changed; otherwise nothing is
written. Messages name the entry, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..store.records import MAX_NAME_LENGTH

PREFIX = "kube:"
EXEC_API_VERSION = "client.authentication.k8s.io/v1"


class KubeconfigError(Exception):
    """The kubeconfig cannot be read or rewritten safely; the message never quotes a value."""


@dataclass(frozen=True)
class KubeUser:
    """One user entry and what it holds."""

    index: int  # its place in `users`
    name: str
    kind: str  # "token", "certificate", "oidc", "password", "other"
    fields: Mapping[str, Any] = field(repr=False)

    @property
    def credential_name(self) -> str:
        return PREFIX + self.name


def load(text: str) -> dict[str, Any]:
    """The kubeconfig document; an empty file is an empty document."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        # The problem's description, not the parser's message: that quotes the text.
        raise KubeconfigError(f"it is not valid YAML{line}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise KubeconfigError("it is not a kubeconfig (not a mapping)")
    return document


def users(document: Mapping[str, Any]) -> list[KubeUser]:
    entries = document.get("users") or []
    if not isinstance(entries, list):
        raise KubeconfigError("'users' is not a list")
    found = []
    for index, entry in enumerate(entries):
        where = f"users[{index}]"
        if not isinstance(entry, dict):
            raise KubeconfigError(f"{where} is not a mapping")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise KubeconfigError(f"{where} has no name")
        if len(PREFIX + name) > MAX_NAME_LENGTH or not name.isprintable():
            raise KubeconfigError(
                f"{where} has a name credd cannot store as kube:NAME (at most "
                f"{MAX_NAME_LENGTH - len(PREFIX)} printable characters)"
            )
        user = entry.get("user") or {}
        if not isinstance(user, dict):
            raise KubeconfigError(f"{where} ({name}): 'user' is not a mapping")
        found.append(KubeUser(index, name, _classify(user), user))
    return found


def _classify(user: Mapping[str, Any]) -> str:
    if "token" in user:
        return "token"
    if "client-key-data" in user or "client-key" in user:
        return "certificate"
    provider = user.get("auth-provider")
    if isinstance(provider, dict) and provider.get("name") == "oidc":
        return "oidc"
    if "password" in user:
        return "password"
    return "other"


def decoded_data(user: KubeUser, key: str) -> str:
    """A `*-data` field's PEM (base64 in the kubeconfig)."""
    value = user.fields.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True).decode("ascii")
    except (ValueError, binascii.Error):
        raise KubeconfigError(f"user {user.name!r}: {key} is not base64 of a PEM") from None


# --- rewriting ------------------------------------------------------------------------------


def exec_user(command: str, credential_name: str) -> dict[str, Any]:
    """What an imported user's `user:` becomes."""
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": command,
            "args": ["kube", credential_name],
            "interactiveMode": "Never",
        }
    }


def rewrite(text: str, replacements: Mapping[int, dict[str, Any]]) -> str:
    """``text`` with the `user:` value of each `users[index]` replaced, every other byte kept.

    Raises KubeconfigError when the edit cannot be made or checked.
    """
    spans = _user_value_spans(text, set(replacements))
    newline = "\r\n" if "\r\n" in text else "\n"
    edited = text
    # From the end, so the earlier offsets stay right.
    for index in sorted(spans, reverse=True):
        start, end, column, flow = spans[index]
        rendered = _render(replacements[index], column, flow, newline)
        edited = edited[:start] + rendered + edited[end:]
    expected = load(text)
    for index, user in replacements.items():
        expected["users"][index]["user"] = user
    if load(edited) != expected:
        raise KubeconfigError("the rewritten file does not read back as intended; left as it is")
    return edited


def _user_value_spans(text: str, wanted: set[int]) -> dict[int, tuple[int, int, int, bool]]:
    """For each wanted `users[index]`: where its `user:` value starts and ends in ``text``,
    its column, and whether it is written in flow style (`{...}`)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        raise KubeconfigError("it is not valid YAML") from None
    if not isinstance(root, yaml.MappingNode):
        raise KubeconfigError("it is not a kubeconfig (not a mapping)")
    _, sequence = _item(root, "users")
    if not isinstance(sequence, yaml.SequenceNode):
        raise KubeconfigError("'users' is not a list")
    spans = {}
    for index in wanted:
        key, value = _item(sequence.value[index], "user")
        if key is None or value is None or isinstance(value, yaml.ScalarNode):
            raise KubeconfigError(f"users[{index}] has no 'user' mapping to rewrite")
        if value.start_mark.index < key.end_mark.index:
            # An alias (`user: *name`): its text is the anchor's, elsewhere in the file.
            raise KubeconfigError(f"users[{index}]: a 'user' given as an alias is not rewritten")
        flow = bool(getattr(value, "flow_style", False))
        end = value.end_mark.index if flow else _content_end(value)
        spans[index] = (value.start_mark.index, end, value.start_mark.column, flow)
    return spans


def _item(node: yaml.Node, key: str) -> tuple[yaml.Node | None, yaml.Node | None]:
    """The key's node and its value's node in a mapping node."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node, value_node
    return None, None


def _content_end(node: yaml.Node) -> int:
    """Where a block node's own text ends: after its last scalar, before any line break or
    comment that follows it (a block collection's end mark lies past those)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1])
    end: int = node.end_mark.index
    return end


def _render(user: Mapping[str, Any], column: int, flow: bool, newline: str) -> str:
    if flow:
        return _flow(user)
    lines = _block(user, 0)
    indent = " " * column
    return (newline + indent).join(lines)


def _block(mapping: Mapping[str, Any], depth: int) -> list[str]:
    lines = []
    pad = "  " * depth
    for key, value in mapping.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.extend(_block(value, depth + 1))
        elif isinstance(value, list):
            lines.append(f"{pad}{key}:")
            lines.extend(f"{pad}- {_scalar(item)}" for item in value)
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return lines


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    """Double-quoted (JSON's escapes are YAML's too), except words that read back as
    themselves (`kube`, `Never`, the apiVersion)."""
    text = str(value)
    plain = text[:1].isalpha() and text.replace(".", "").replace("/", "").isalnum()
    if plain and yaml.safe_load(text) == text:  # not `true`, `null`, `yes`...
        return text
    return json.dumps(text, ensure_ascii=False)


# --- several files ------------------------------------------------------------------------------


@dataclass
class KubeconfigFile:
    path: str
    text: str = field(repr=False)
    users: list[KubeUser]


def first_definitions(files: Sequence[KubeconfigFile]) -> list[tuple[KubeconfigFile, KubeUser]]:
    """Each user name with the file that defines it first: the one kubectl uses (KUBECONFIG's
    merge keeps the first definition of a name)."""
    seen: set[str] = set()
    found = []
    for config in files:
        for user in config.users:
            if user.name not in seen:
                seen.add(user.name)
                found.append((config, user))
    return found
