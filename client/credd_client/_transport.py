"""HTTP/1.1 over the daemon's AF_UNIX socket (on Windows, its named pipe, see `_pipe`).

Not `http.client`: it costs more to import than the rest of this package together, and a
command line tool pays that on every run. The daemon speaks a small, well-behaved subset of
HTTP (JSON bodies framed by Content-Length or chunked), so a short client that keeps one
connection open covers it.

Before a byte is sent, the socket's folder must be the user's own and the process on the
other end must run as the user: a socket is only a file name, and whoever answers on it
receives every secret asked for.

Errors of the socket layer are translated here, once, into `DaemonUnavailable` (nothing
listens), `DaemonTimeout` (a daemon took the request and did not answer in time),
`Forbidden` and `ProtocolError`. Their messages never quote what was sent or received.

The socket is `_socket`'s, the C type `socket.socket` extends: `socket.py` imports `enum` and
`selectors`, about 10 ms at every command's start on a slow machine, for nothing one blocking
connection needs. `SocketReader` stands in for `socket.makefile`.
"""

from __future__ import annotations

import _socket
import io
import os
import struct
import sys

from ._paths import check_socket_folder, daemon_uid, owner_alive
from .errors import DaemonTimeout, DaemonUnavailable, Forbidden, ProtocolError

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from io import BufferedReader

    from _typeshed import WriteableBuffer

START_HINT = (
    "start one with `credd serve`, or install the login service with `credd service install`"
)

_MAX_LINE = 65536
_MAX_HEADERS = 100
_MAX_BODY = 64 * 1024 * 1024
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_LINE_ENDS = (b"\r\n", b"\n")
# Linux `struct ucred` (pid, uid, gid); macOS and FreeBSD `struct xucred` starts with a
# version and the uid, at level SOL_LOCAL, which is 0 and not exported by `socket`.
_UCRED = struct.Struct("=iII")
# macOS <sys/ucred.h> struct xucred: cr_version, cr_uid, cr_ngroups (a short, then 2 bytes of
# padding), cr_groups[16]: 76 bytes. Only XUCRED_VERSION 0 is known: another layout is
# refused, not guessed. The daemon reads its peers with the same parser.
XUCRED = struct.Struct("=IIh2x16I")
XUCRED_VERSION = 0
_SOL_LOCAL = 0
# A refused connection to a daemon that is alive (macOS and the BSDs refuse, rather than
# queue, when its listen queue is full) is tried again this many times, this far apart.
_REFUSED_TRIES = 10
_REFUSED_PAUSE = 0.1
# `Prefer: wait=N` (RFC 7240) asks the daemon to answer this much before the client gives up,
# so a slow refresh is answered `refresh_failed` rather than cut off by the client's timeout.
WAIT_MARGIN = 2


def prefer_wait(timeout: float) -> int:
    """The seconds of ``Prefer: wait``: floor(timeout - 2), at least 0. (The contract's
    floor(min(deadline, timeout) - 2): this client's calls have no deadline but the timeout.)"""
    return max(0, int(timeout // 1) - WAIT_MARGIN)


class Response:
    """One HTTP answer: header names lower-cased, the body whole."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class SocketReader(io.RawIOBase):
    """A connected socket's bytes as a raw stream, to buffer with `io.BufferedReader`.

    Closing it leaves the socket open: the transport closes that itself.
    """

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        return self._sock.recv_into(buffer)


class NoDaemon(DaemonUnavailable):
    """Nothing listens on the socket: the case a daemon may be started for (autostart)."""


class _RefusedButAlive(Exception):
    """The socket refused the connection, but the daemon that bound it is alive."""


class _StaleConnection(Exception):
    """The daemon closed the connection before answering: the request may be sent again."""


class UnixTransport:
    """One persistent HTTP/1.1 connection to the daemon, opened on first use.

    Not thread-safe: give each thread its own transport (its own `Client`).
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: _socket.socket | None = None
        self._reader: BufferedReader | None = None

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request and read its answer.

        A kept-alive connection the daemon has closed meanwhile (its idle timeout, a
        restart) fails before any byte of an answer arrives; the request is then sent once
        more on a new connection, as the daemon almost surely never read it. Nothing else
        is retried: once an answer has begun, or on a new connection, a failure is final.
        """
        preferences = {"Prefer": f"wait={prefer_wait(self.timeout)}"}
        message = _encode_request(method, target, body, {**preferences, **(headers or {})})
        if self._sock is not None:
            try:
                return self._exchange(message, method)
            except _StaleConnection:
                pass
        self._connect()
        try:
            return self._exchange(message, method)
        except _StaleConnection:
            raise DaemonUnavailable(
                f"the daemon on {self.path} closed the connection without answering"
            ) from None

    def stream(
        self, target: str, headers: Mapping[str, str], idle_timeout: float
    ) -> Response | Iterator[bytes]:
        """GET an open-ended answer on a new connection of its own.

        A 2xx answer is its body's bytes as they come, until the daemon ends it; a silence of
        ``idle_timeout`` raises `DaemonTimeout`, a broken connection `DaemonUnavailable`. Any
        other answer is returned whole, as `request` does.
        """
        self.close()
        self._connect()
        assert self._sock is not None
        assert self._reader is not None
        message = _encode_request("GET", target, None, headers)
        try:
            self._sock.sendall(message)
            version, status = _parse_status_line(_read_line(self._reader))
            del version
            answer_headers = _read_headers(self._reader)
            if not 200 <= status < 300:
                body = (
                    _read_chunked(self._reader)
                    if "transfer-encoding" in answer_headers
                    else _read_exactly(
                        self._reader, _content_length(answer_headers.get("content-length", "0"))
                    )
                )
                self.close()
                return Response(status, answer_headers, body)
        except BaseException:
            self.close()
            raise
        self._sock.settimeout(idle_timeout)
        return self._body_as_it_comes(answer_headers)

    def _body_as_it_comes(self, headers: Mapping[str, str]) -> Iterator[bytes]:
        reader = self._reader
        assert reader is not None
        chunked = "transfer-encoding" in headers
        try:
            while True:
                if chunked:
                    size_field = _read_line(reader).split(b";", 1)[0].strip()
                    if not size_field or not set(size_field) <= _HEX_DIGITS:
                        raise _malformed("a malformed chunk size")
                    size = int(size_field, 16)
                    if size == 0:
                        return
                    data = _read_exactly(reader, size)
                    if _read_line(reader) not in _LINE_ENDS:
                        raise _malformed("a chunk longer than its size")
                else:
                    data = reader.read1(_MAX_LINE)
                    if not data:
                        return
                yield data
        except TimeoutError as exc:
            raise DaemonTimeout(
                f"the daemon on {self.path} went silent (no heartbeat); reconnecting"
            ) from exc
        except OSError as exc:
            raise DaemonUnavailable(
                f"the connection to the daemon on {self.path} broke ({exc.strerror or exc})"
            ) from exc
        finally:
            self.close()

    def abort(self) -> None:
        """From another thread: break the connection, so a read blocked on it returns."""
        import contextlib  # not at the top: a command's start would pay for it

        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(_socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> None:
        if sys.platform == "win32":  # pragma: no cover - the named pipe; not run by the tests
            from ._pipe import open_pipe

            pipe = open_pipe(self.path, self.timeout, START_HINT)
            self._sock, self._reader = pipe, pipe.makefile("rb")  # type: ignore[assignment]
            return
        for tries in range(1, _REFUSED_TRIES + 1):
            try:
                self._connect_socket()
            except _RefusedButAlive as exc:
                if tries == _REFUSED_TRIES:
                    raise DaemonUnavailable(
                        f"the daemon on {self.path} is running but refuses new connections "
                        "(too many waiting); try again"
                    ) from exc
                import time

                time.sleep(_REFUSED_PAUSE)
            else:
                return

    def _connect_socket(self) -> None:
        if sys.platform == "win32":
            raise NotImplementedError
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            check_socket_folder(os.path.dirname(self.path) or ".")
            sock.connect(self.path)
            _check_peer(sock, self.path)
        except ConnectionRefusedError as exc:
            sock.close()
            if owner_alive(self.path):  # busy, not gone: never "no daemon" (autostart)
                raise _RefusedButAlive from exc
            raise NoDaemon(f"no daemon answers on {self.path}; {START_HINT}") from exc
        except FileNotFoundError as exc:
            sock.close()
            raise NoDaemon(f"no daemon answers on {self.path}; {START_HINT}") from exc
        except TimeoutError as exc:
            sock.close()
            raise DaemonUnavailable(f"no daemon answers on {self.path}; {START_HINT}") from exc
        except BlockingIOError as exc:  # a Unix socket's full listen queue fails at once
            sock.close()
            raise DaemonUnavailable(
                f"the daemon on {self.path} takes no new connection now (too many waiting); "
                "try again"
            ) from exc
        except OSError as exc:
            sock.close()
            raise DaemonUnavailable(
                f"cannot connect to the daemon on {self.path} ({exc.strerror or exc})"
            ) from exc
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._reader = io.BufferedReader(SocketReader(sock))

    def _exchange(self, message: bytes, method: str) -> Response:
        """Send and read on the open connection; any failure closes it."""
        assert self._sock is not None
        assert self._reader is not None
        try:
            try:
                self._sock.sendall(message)
                first = self._reader.read(1)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
                raise _StaleConnection from exc
            if not first:
                raise _StaleConnection
            response, keep_alive = _read_response(first, self._reader, method)
        except TimeoutError as exc:
            self.close()
            raise DaemonTimeout(
                f"credd did not answer within {self.timeout:g} s (socket {self.path}); it is "
                "running but busy or stuck: `credd status` and its log say more"
            ) from exc
        except OSError as exc:
            self.close()
            raise DaemonUnavailable(
                f"the connection to the daemon on {self.path} broke ({exc.strerror or exc})"
            ) from exc
        except BaseException:
            self.close()
            raise
        if not keep_alive:
            self.close()
        return response


def _check_peer(sock: _socket.socket, path: str) -> None:
    """Talk only to a process of this user, or of the uid CREDD_DAEMON_UID names; one whose
    user cannot be told is refused too."""
    if sys.platform == "win32":
        raise NotImplementedError("the named pipe's server is checked in _pipe")
    try:
        peer_uid = _peer_uid(sock)
    except (OSError, ValueError) as exc:
        raise Forbidden(
            f"cannot tell which user runs the process answering on {path} ({exc}); "
            "refusing to talk to it"
        ) from None
    uid = os.getuid()
    if peer_uid is None:
        raise Forbidden(
            f"cannot tell which user runs the process answering on {path} (no peer "
            f"credentials on {sys.platform}); refusing to talk to it"
        )
    if peer_uid != uid and peer_uid != daemon_uid():
        raise Forbidden(
            f"the process answering on {path} runs as uid {peer_uid}, not as you (uid {uid}); "
            "refusing to talk to it. Remove that socket and start your own daemon with "
            "`credd serve`"
        )


def _peer_uid(sock: _socket.socket) -> int | None:
    """The uid of the process at the other end, or None where the OS cannot tell."""
    if sys.platform == "linux":
        pid_uid_gid = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _UCRED.size)
        return int(_UCRED.unpack(pid_uid_gid)[1])
    if sys.platform == "darwin":
        return xucred_uid(sock.getsockopt(_SOL_LOCAL, _socket.LOCAL_PEERCRED, XUCRED.size))
    return None


def xucred_uid(raw: bytes) -> int:
    """The uid in a macOS ``struct xucred``; ValueError for anything else."""
    if len(raw) < XUCRED.size:
        raise ValueError(f"a struct xucred of {len(raw)} bytes, not {XUCRED.size}")
    version, uid, ngroups, *_groups = XUCRED.unpack_from(raw)
    if version != XUCRED_VERSION:
        raise ValueError(f"struct xucred version {version}, not {XUCRED_VERSION}")
    if not 0 <= ngroups <= 16:
        raise ValueError(f"struct xucred with {ngroups} groups")
    return int(uid)


def _encode_request(
    method: str, target: str, body: bytes | None, headers: Mapping[str, str]
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"]
    if body is not None:
        lines.append("Content-Type: application/json")
    if body is not None or method in _METHODS_WITH_BODY:
        lines.append(f"Content-Length: {len(body or b'')}")
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    fields = (method, target, *headers, *headers.values())
    if " " in target or any("\r" in field or "\n" in field for field in fields):
        raise ValueError("a request line or header field holds a CR or LF, or the target a space")
    return "\r\n".join(lines).encode("ascii") + b"\r\n\r\n" + (body or b"")


def _read_response(first: bytes, reader: BufferedReader, method: str) -> tuple[Response, bool]:
    """Parse an answer whose first byte is already read; also say if the connection lives on."""
    version, status = _parse_status_line(first + _read_line(reader))
    headers = _read_headers(reader)
    delimited_by_close = False
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "transfer-encoding" in headers:
        if headers["transfer-encoding"].strip().lower() != "chunked":
            raise _malformed("a transfer encoding other than chunked")
        body = _read_chunked(reader)
    elif "content-length" in headers:
        body = _read_exactly(reader, _content_length(headers["content-length"]))
    else:
        body = reader.read(_MAX_BODY + 1)
        if len(body) > _MAX_BODY:
            raise _malformed("a body over 64 MiB")
        delimited_by_close = True
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    closes = "close" in tokens or (version == b"HTTP/1.0" and "keep-alive" not in tokens)
    return Response(status, headers, body), not (closes or delimited_by_close)


def _parse_status_line(line: bytes) -> tuple[bytes, int]:
    parts = line.rstrip(b"\r\n").split(b" ", 2)
    if (
        len(parts) < 2
        or not parts[0].startswith(b"HTTP/1.")
        or len(parts[1]) != 3
        or not parts[1].isdigit()
    ):
        raise _malformed("no HTTP status line")
    return parts[0], int(parts[1])


def _read_headers(reader: BufferedReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = _read_line(reader)
        if line in _LINE_ENDS:
            return headers
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not raw_name or raw_name != raw_name.strip():
            raise _malformed("a malformed header line")
        name = raw_name.decode("latin-1").lower()
        value = raw_value.strip().decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raise _malformed(f"more than {_MAX_HEADERS} headers")


def _read_chunked(reader: BufferedReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_field = _read_line(reader).split(b";", 1)[0].strip()
        if not size_field or not set(size_field) <= _HEX_DIGITS:
            raise _malformed("a malformed chunk size")
        size = int(size_field, 16)
        if size == 0:
            break
        total += size
        if total > _MAX_BODY:
            raise _malformed("a body over 64 MiB")
        chunks.append(_read_exactly(reader, size))
        if _read_line(reader) not in _LINE_ENDS:
            raise _malformed("a chunk longer than its size")
    while _read_line(reader) not in _LINE_ENDS:  # trailer fields, unused
        pass
    return b"".join(chunks)


def _content_length(value: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise _malformed("a malformed Content-Length")
    length = int(value)
    if length > _MAX_BODY:
        raise _malformed("a body over 64 MiB")
    return length


def _read_line(reader: BufferedReader) -> bytes:
    line = reader.readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        raise _malformed("a truncated or overlong line")
    return line


def _read_exactly(reader: BufferedReader, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise _malformed("a body cut short")
    return data


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(f"malformed answer from the daemon: {what}")
