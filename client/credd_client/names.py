"""How the integrations name the credentials they create, so that `credd list` shows where
each one belongs. One definition, shared by the helpers and by `credd import`:

    git:<protocol>://[<username>@]<host>[:<port>][/<path>]    git-credential-credd
    docker:<server URL as docker sends it>                    docker-credential-credd
    keyring:[<username>@]<service>                            the keyring backend

A username is percent-encoded where it holds ``%``, ``@``, ``/``, ``:`` or a control
character, so that the first bare ``@`` always ends it and every name parses back.
"""

from __future__ import annotations

GIT_PREFIX = "git:"
DOCKER_PREFIX = "docker:"
KEYRING_PREFIX = "keyring:"

_USER_UNSAFE = frozenset("%@/:") | frozenset(chr(code) for code in (*range(32), 127))


def quote_user(username: str) -> str:
    return "".join(
        "".join(f"%{byte:02X}" for byte in char.encode("utf-8")) if char in _USER_UNSAFE else char
        for char in username
    )


def unquote_user(text: str) -> str:
    """The inverse of `quote_user` (malformed escapes are kept as they are)."""
    return percent_decode(text)


def percent_decode(text: str, *, strict: bool = False) -> str:
    """``%XX`` escapes as UTF-8 bytes.

    Lenient (a name git's helper made): a ``%`` not followed by two hex digits stays as it
    is, and bytes that are not UTF-8 become U+FFFD. Strict (a name a user wrote): either is a
    `ValueError` saying which.
    """
    if "%" not in text:
        return text
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        hex_digits = text[index + 1 : index + 3]
        if char == "%" and len(hex_digits) == 2 and all(c in _HEX for c in hex_digits):
            out.append(int(hex_digits, 16))
            index += 3
            continue
        if char == "%" and strict:
            raise ValueError("a '%' in a name is written %25")
        out += char.encode("utf-8")
        index += 1
    if not strict:
        return out.decode("utf-8", "replace")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("its %-escapes are not UTF-8") from None


_HEX = frozenset("0123456789abcdefABCDEF")


class GitTarget:
    """What a git credential is for: protocol, host (port included), path, username."""

    __slots__ = ("host", "path", "protocol", "username")

    def __init__(self, protocol: str, host: str, path: str = "", username: str = "") -> None:
        self.protocol = protocol
        self.host = host
        self.path = path.strip("/")
        self.username = username

    def name(self) -> str:
        user = f"{quote_user(self.username)}@" if self.username else ""
        path = f"/{self.path}" if self.path else ""
        return f"{GIT_PREFIX}{self.protocol}://{user}{self.host}{path}"

    def labels(self) -> dict[str, str]:
        labels = {"protocol": self.protocol, "host": self.host}
        if self.path:
            labels["path"] = self.path
        return labels

    @classmethod
    def from_name(cls, name: str) -> GitTarget | None:
        """Parse a name made by `name` (or typed by hand in that form); None if it is not one."""
        if not name.startswith(GIT_PREFIX):
            return None
        protocol, sep, rest = name[len(GIT_PREFIX) :].partition("://")
        if not sep or not protocol:
            return None
        authority, _, path = rest.partition("/")
        user, at, host = authority.rpartition("@")
        if not host:
            return None
        return cls(protocol, host, path, unquote_user(user) if at else "")

    def __repr__(self) -> str:
        return f"GitTarget({self.name()!r})"


def docker_name(server_url: str) -> str:
    return DOCKER_PREFIX + server_url


def docker_server(name: str) -> str | None:
    """The server URL of a docker credential's name; None if the name is not one."""
    if not name.startswith(DOCKER_PREFIX) or len(name) == len(DOCKER_PREFIX):
        return None
    return name[len(DOCKER_PREFIX) :]


def keyring_name(service: str, username: str | None) -> str:
    user = f"{quote_user(username)}@" if username else ""
    return f"{KEYRING_PREFIX}{user}{service}"
