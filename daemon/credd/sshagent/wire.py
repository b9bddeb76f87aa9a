"""The agent protocol's bytes, sans I/O: framing, the SSH encodings, the message numbers.

A message is a uint32 length, then that many bytes: a type byte and its contents. Strings
are a uint32 length and bytes; an mpint is a string holding a two's complement big-endian
integer (RFC 4251). Anything that does not parse raises `MessageError`, which the agent
answers with SSH_AGENT_FAILURE.
"""

from __future__ import annotations

import struct

# The messages credd answers (draft-miller-ssh-agent, section 6.1).
FAILURE = 5
SUCCESS = 6
REQUEST_IDENTITIES = 11
IDENTITIES_ANSWER = 12
SIGN_REQUEST = 13
SIGN_RESPONSE = 14
ADD_IDENTITY = 17
REMOVE_IDENTITY = 18
REMOVE_ALL_IDENTITIES = 19
LOCK = 22
UNLOCK = 23
ADD_ID_CONSTRAINED = 25
EXTENSION = 27

# ADD_ID_CONSTRAINED: a lifetime is honoured; confirmation, extensions (destination
# restrictions, `-h`) and anything else are refused.
CONSTRAIN_LIFETIME = 1

# SIGN_REQUEST flags: an RSA key signs with SHA-256 or SHA-512 instead of SHA-1.
RSA_SHA2_256 = 2
RSA_SHA2_512 = 4

# OpenSSH's own limit on a message (AGENT_MAX_LEN): a longer one closes the connection.
MAX_MESSAGE = 256 * 1024
_U32 = struct.Struct(">I")
LENGTH_SIZE = _U32.size


class MessageError(ValueError):
    """A message that does not parse; its text never holds the message's bytes."""


def message_length(prefix: bytes) -> int:
    """The length a 4-byte prefix announces; MessageError past MAX_MESSAGE."""
    length: int = _U32.unpack(prefix)[0]
    if length > MAX_MESSAGE:
        raise MessageError(f"a message of {length} bytes is over the limit of {MAX_MESSAGE}")
    return length


def frame(payload: bytes) -> bytes:
    """A message with its length prefix."""
    return _U32.pack(len(payload)) + payload


def u32(value: int) -> bytes:
    return _U32.pack(value)


def string(value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _U32.pack(len(data)) + data


def mpint(value: int) -> bytes:
    """A non-negative integer as an SSH mpint (a leading zero byte when the top bit is set)."""
    if value < 0:
        raise ValueError("credd writes no negative mpint")
    if value == 0:
        return string(b"")
    data = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return string(data)


class Reader:
    """Reads one message's fields in order; `end` checks nothing is left over."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def _take(self, size: int) -> bytes:
        if size > len(self._data) - self._at:
            raise MessageError("the message ends early")
        chunk = bytes(self._data[self._at : self._at + size])
        self._at += size
        return chunk

    def byte(self) -> int:
        return self._take(1)[0]

    def u32(self) -> int:
        value: int = _U32.unpack(self._take(4))[0]
        return value

    def string(self) -> bytes:
        return self._take(self.u32())

    def text(self) -> str:
        try:
            return self.string().decode()
        except UnicodeDecodeError:
            raise MessageError("a text field is not UTF-8") from None

    def mpint(self) -> int:
        data = self.string()
        if data and data[0] & 0x80:
            raise MessageError("a negative integer where a key part belongs")
        return int.from_bytes(data, "big")

    @property
    def remaining(self) -> int:
        return len(self._data) - self._at

    def end(self) -> None:
        if self._at != len(self._data):
            raise MessageError("the message has bytes past its last field")
