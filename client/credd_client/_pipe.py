"""Windows: open the daemon's named pipe, and check that it is served by this user.

Used by `_transport` on Windows only, in place of an AF_UNIX socket; the HTTP over it is the
same. The pipe is opened with SECURITY_IDENTIFICATION quality of service, so whatever serves
it cannot act as us, and the serving process's user must be ours (a pipe name is first come,
first served: another user could create it first). NOT RUN ON WINDOWS BY CREDD'S TESTS: only
the pure parts below the Win32 calls are tested, on Linux.
"""

from __future__ import annotations

import errno
import os
import sys

from .errors import DaemonUnavailable, Forbidden

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Callable
    from io import BufferedReader
    from typing import Any

ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_PIPE_BUSY = 231
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
OPEN_EXISTING = 3
SECURITY_SQOS_PRESENT = 0x00100000
SECURITY_IDENTIFICATION = 0x00010000
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
TOKEN_QUERY = 0x0008
TOKEN_USER_CLASS = 1


def connect_error(winerror: int, path: str, hint: str) -> DaemonUnavailable:
    """What a failed CreateFileW on the pipe means for the user."""
    from ._transport import NoDaemon

    if winerror == ERROR_FILE_NOT_FOUND:
        return NoDaemon(f"no daemon answers on {path}; {hint}")
    if winerror == ERROR_PIPE_BUSY:
        return DaemonUnavailable(f"the daemon on {path} takes no new connection now; try again")
    return DaemonUnavailable(f"cannot open {path} (Windows error {winerror})")


def verify_server(path: str, server_sid: Callable[[], str], own_sid: Callable[[], str]) -> None:
    """The process serving the pipe must run as this user; one that cannot be told is refused.

    ``server_sid`` and ``own_sid`` make the Win32 calls (GetNamedPipeServerProcessId,
    OpenProcess, OpenProcessToken, ...): any of them failing is a refusal, not a traceback.
    """
    try:
        server, own = server_sid(), own_sid()
    except OSError as exc:
        raise Forbidden(
            f"cannot tell which user serves {path} ({exc}); refusing to talk to it"
        ) from None
    check_server_user(server, own, path)


def check_server_user(server_sid: str, own_sid: str, path: str) -> None:
    if server_sid != own_sid:
        raise Forbidden(
            f"the process serving {path} runs as {server_sid}, not as you ({own_sid}); "
            "refusing to talk to it"
        )


class PipeStream:
    """An open pipe with the two calls the transport makes on a socket."""

    def __init__(self, descriptor: int) -> None:
        self._file = open(descriptor, "r+b", buffering=0)  # noqa: SIM115 - closed by close()

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = self._file.write(view)
            except OSError as exc:
                # Writing to a pipe whose server closed it (uvicorn's idle keep-alive timeout)
                # fails with EINVAL on Windows, not EPIPE: the same stale connection.
                if exc.errno == errno.EINVAL:
                    raise BrokenPipeError(errno.EPIPE, "the pipe was closed") from exc
                raise
            view = view[written or 0 :]

    def makefile(self, mode: str) -> BufferedReader:
        import io

        return io.BufferedReader(self._file)

    def close(self) -> None:
        self._file.close()


if sys.platform == "win32":  # pragma: no cover - the Win32 calls; not run by credd's tests
    import ctypes
    import msvcrt
    from ctypes import wintypes

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    _INVALID_HANDLE = wintypes.HANDLE(-1).value

    def _declare(function: Any, restype: Any, *argtypes: Any) -> Any:
        function.restype = restype
        function.argtypes = argtypes
        return function

    _CreateFileW = _declare(
        _kernel32.CreateFileW,
        wintypes.HANDLE,
        wintypes.LPCWSTR,
        wintypes.DWORD,
        wintypes.DWORD,
        ctypes.c_void_p,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.HANDLE,
    )
    _WaitNamedPipeW = _declare(
        _kernel32.WaitNamedPipeW, wintypes.BOOL, wintypes.LPCWSTR, wintypes.DWORD
    )
    _GetNamedPipeServerProcessId = _declare(
        _kernel32.GetNamedPipeServerProcessId,
        wintypes.BOOL,
        wintypes.HANDLE,
        ctypes.POINTER(wintypes.ULONG),
    )
    _OpenProcess = _declare(
        _kernel32.OpenProcess, wintypes.HANDLE, wintypes.DWORD, wintypes.BOOL, wintypes.DWORD
    )
    _GetCurrentProcess = _declare(_kernel32.GetCurrentProcess, wintypes.HANDLE)
    _CloseHandle = _declare(_kernel32.CloseHandle, wintypes.BOOL, wintypes.HANDLE)
    _LocalFree = _declare(_kernel32.LocalFree, ctypes.c_void_p, ctypes.c_void_p)
    _OpenProcessToken = _declare(
        _advapi32.OpenProcessToken,
        wintypes.BOOL,
        wintypes.HANDLE,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.HANDLE),
    )
    _GetTokenInformation = _declare(
        _advapi32.GetTokenInformation,
        wintypes.BOOL,
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
    )
    _ConvertSidToStringSidW = _declare(
        _advapi32.ConvertSidToStringSidW,
        wintypes.BOOL,
        ctypes.c_void_p,
        ctypes.POINTER(wintypes.LPWSTR),
    )

    def _failed() -> OSError:
        return ctypes.WinError(ctypes.get_last_error())

    def _token_user_sid(process: Any) -> str:
        """The string SID of the user a process runs as."""
        token = wintypes.HANDLE()
        if not _OpenProcessToken(process, TOKEN_QUERY, ctypes.byref(token)):
            raise _failed()
        try:
            size = wintypes.DWORD()
            _GetTokenInformation(token, TOKEN_USER_CLASS, None, 0, ctypes.byref(size))
            buffer = ctypes.create_string_buffer(size.value)
            if not _GetTokenInformation(
                token, TOKEN_USER_CLASS, buffer, size.value, ctypes.byref(size)
            ):
                raise _failed()
            sid = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_void_p))[0]  # TOKEN_USER.User.Sid
            text = wintypes.LPWSTR()
            if not _ConvertSidToStringSidW(sid, ctypes.byref(text)):
                raise _failed()
            try:
                return str(text.value)
            finally:
                _LocalFree(ctypes.cast(text, ctypes.c_void_p))
        finally:
            _CloseHandle(token)

    def current_user_sid() -> str:
        return _token_user_sid(_GetCurrentProcess())

    def open_pipe(path: str, timeout: float, hint: str) -> PipeStream:
        """Connect to the daemon's pipe, waiting up to ``timeout`` while all instances are busy."""
        access = GENERIC_READ | GENERIC_WRITE
        flags = SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION
        handle = _CreateFileW(path, access, 0, None, OPEN_EXISTING, flags, None)
        if handle is None or handle == _INVALID_HANDLE:
            error = ctypes.get_last_error()
            if (
                error == ERROR_PIPE_BUSY
                and timeout > 0
                and _WaitNamedPipeW(path, int(timeout * 1000))
            ):
                return open_pipe(path, 0, hint)
            raise connect_error(error, path, hint)

        def server_sid() -> str:
            pid = wintypes.ULONG()
            if not _GetNamedPipeServerProcessId(handle, ctypes.byref(pid)):
                raise _failed()
            process = _OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid.value)
            if not process:
                raise _failed()
            try:
                return _token_user_sid(process)
            finally:
                _CloseHandle(process)

        try:
            verify_server(path, server_sid, current_user_sid)
            descriptor = msvcrt.open_osfhandle(handle, os.O_BINARY)
        except BaseException:
            _CloseHandle(handle)
            raise
        return PipeStream(descriptor)
