"""Windows: serve the API on the named pipe `\\\\.\\pipe\\credd-<user>[-<home>]`, for this user;
and the SSH agent on its own pipe (`serve_private_pipe`, used by sshagent/listener.py).

asyncio's pipe server creates every instance with the default security descriptor, which
lets Everyone read. Here each instance is created through CreateNamedPipeW with a
descriptor that grants access to the current user's SID alone (and rejects remote
clients), the first one with FILE_FLAG_FIRST_PIPE_INSTANCE so a second daemon (or anyone
who made the name first) makes the start fail instead of sharing the name. The instances are
served on the proactor loop by uvicorn's HTTP protocol, the same ASGI app as on Unix.

Each connection's client process is named (pid, executable) for per-program access and the
audit log: GetNamedPipeClientProcessId, then QueryFullProcessImageNameW. Its user is not
read: the instance's security descriptor admitted this user's SID alone.

NOT RUN ON WINDOWS BY CREDD'S TESTS: only `pipe_sddl` is tested, on Linux; the module is
imported and type-checked as Windows sees it (tests/support/simulated_windows.py, mypy).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

SID = re.compile(r"S-1(-\d+){1,15}")
PIPE_BUFFER = 64 * 1024


def pipe_sddl(sid: str) -> str:
    """The security descriptor of every pipe instance: owned by, and open only to, ``sid``.

    `D:P` is a protected DACL (nothing inherited); `GA` is generic all. No other entry:
    not Everyone, not Administrators, not SYSTEM.
    """
    if not SID.fullmatch(sid):
        raise ValueError(f"not a SID: {sid!r}")
    return f"O:{sid}G:{sid}D:P(A;;GA;;;{sid})"


class PipeStartError(Exception):
    """The pipe cannot be created; the message says why."""


if sys.platform == "win32":  # pragma: no cover - the Win32 calls; not run by credd's tests
    import asyncio
    import ctypes
    from asyncio import windows_events, windows_utils
    from ctypes import wintypes

    from credd_client._pipe import current_user_sid

    from .peer import UNKNOWN_PEER, Peer

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)

    PIPE_ACCESS_DUPLEX = 0x3
    FILE_FLAG_OVERLAPPED = 0x40000000
    FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
    PIPE_TYPE_BYTE = 0x0
    PIPE_READMODE_BYTE = 0x0
    PIPE_WAIT = 0x0
    PIPE_REJECT_REMOTE_CLIENTS = 0x8
    PIPE_UNLIMITED_INSTANCES = 255
    SDDL_REVISION_1 = 1
    ERROR_ACCESS_DENIED = 5

    class SECURITY_ATTRIBUTES(ctypes.Structure):
        _fields_ = (
            ("nLength", wintypes.DWORD),
            ("lpSecurityDescriptor", ctypes.c_void_p),
            ("bInheritHandle", wintypes.BOOL),
        )

    _Convert = _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW
    _Convert.restype = wintypes.BOOL
    _Convert.argtypes = (
        wintypes.LPCWSTR,
        wintypes.DWORD,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(wintypes.ULONG),
    )
    _CreateNamedPipeW = _kernel32.CreateNamedPipeW
    _CreateNamedPipeW.restype = wintypes.HANDLE
    _CreateNamedPipeW.argtypes = (
        wintypes.LPCWSTR,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.DWORD,
        wintypes.DWORD,
        ctypes.POINTER(SECURITY_ATTRIBUTES),
    )
    _INVALID_HANDLE = wintypes.HANDLE(-1).value
    PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _GetNamedPipeClientProcessId = _kernel32.GetNamedPipeClientProcessId
    _GetNamedPipeClientProcessId.restype = wintypes.BOOL
    _GetNamedPipeClientProcessId.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.ULONG))
    _OpenProcess = _kernel32.OpenProcess
    _OpenProcess.restype = wintypes.HANDLE
    _OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    _CloseHandle = _kernel32.CloseHandle
    _CloseHandle.restype = wintypes.BOOL
    _CloseHandle.argtypes = (wintypes.HANDLE,)
    _QueryFullProcessImageNameW = _kernel32.QueryFullProcessImageNameW
    _QueryFullProcessImageNameW.restype = wintypes.BOOL
    _QueryFullProcessImageNameW.argtypes = (
        wintypes.HANDLE,
        wintypes.DWORD,
        wintypes.LPWSTR,
        ctypes.POINTER(wintypes.DWORD),
    )

    def _image_name(pid: int) -> str | None:
        process = _OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not process:
            return None
        try:
            size = wintypes.DWORD(32768)
            buffer = ctypes.create_unicode_buffer(size.value)
            if not _QueryFullProcessImageNameW(process, 0, buffer, ctypes.byref(size)):
                return None
            return buffer.value
        finally:
            _CloseHandle(process)

    def pipe_client(pipe: Any) -> Peer:
        """The process at the other end of a pipe instance; fields that cannot be read None."""
        handle = getattr(pipe, "handle", None)
        pid = wintypes.ULONG()
        if handle is None or not _GetNamedPipeClientProcessId(handle, ctypes.byref(pid)):
            return UNKNOWN_PEER
        return Peer(pid=pid.value, uid=None, exe=_image_name(pid.value))

    def _security_attributes() -> SECURITY_ATTRIBUTES:
        descriptor = ctypes.c_void_p()
        if not _Convert(pipe_sddl(current_user_sid()), SDDL_REVISION_1, descriptor, None):
            raise ctypes.WinError(ctypes.get_last_error())
        # Kept for the life of the process: every new instance needs it.
        return SECURITY_ATTRIBUTES(ctypes.sizeof(SECURITY_ATTRIBUTES), descriptor.value, False)

    class _PrivatePipeServer(windows_events.PipeServer):
        """asyncio's pipe server, each instance made with our security descriptor."""

        attributes: SECURITY_ATTRIBUTES | None = None
        # Set by asyncio's PipeServer.__init__; its stubs do not declare them.
        _address: str
        _free_instances: set[Any]

        def _server_pipe_handle(self, first: bool) -> Any:
            if self.closed():
                return None
            if _PrivatePipeServer.attributes is None:
                _PrivatePipeServer.attributes = _security_attributes()
            flags = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED
            if first:
                flags |= FILE_FLAG_FIRST_PIPE_INSTANCE
            handle = _CreateNamedPipeW(
                self._address,
                flags,
                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                PIPE_UNLIMITED_INSTANCES,
                PIPE_BUFFER,
                PIPE_BUFFER,
                0,
                ctypes.byref(_PrivatePipeServer.attributes),
            )
            if handle is None or handle == _INVALID_HANDLE:
                error = ctypes.get_last_error()
                if first and error == ERROR_ACCESS_DENIED:
                    raise PipeStartError(
                        f"{self._address} already exists: another credd daemon (or another "
                        "program) serves it; leaving it alone"
                    )
                raise ctypes.WinError(error)
            pipe = windows_utils.PipeHandle(handle)
            self._free_instances.add(pipe)
            return pipe

    async def serve_private_pipe(
        protocol: Callable[[], asyncio.BaseProtocol], address: str
    ) -> list[Any]:
        """Serve ``address`` on the proactor loop, every instance open to this user alone;
        the pipe servers, for their `close()`. Raises `PipeStartError` when the name is taken."""
        loop: Any = asyncio.get_running_loop()
        # start_serving_pipe makes its server from the module's PipeServer: lend it ours.
        module: Any = windows_events
        original = module.PipeServer
        module.PipeServer = _PrivatePipeServer
        try:
            servers: list[Any] = await loop.start_serving_pipe(protocol, address)
        finally:
            module.PipeServer = original
        return servers

    class _Servers:
        """What uvicorn closes at shutdown, for the pipe servers."""

        def __init__(self, servers: list[Any]) -> None:
            self._servers = servers

        def close(self) -> None:
            for server in self._servers:
                server.close()

        async def wait_closed(self) -> None:
            return None

    class NamedPipeServer(uvicorn.Server):
        """uvicorn, serving the named pipe instead of sockets."""

        def __init__(self, config: uvicorn.Config, address: str) -> None:
            super().__init__(config)
            self.address = address

        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets=[])  # the app and its state, no socket
            config = self.config
            protocol_class: Any = config.http_protocol_class  # uvicorn's, not asyncio's signature

            def protocol() -> asyncio.Protocol:
                made: asyncio.Protocol = protocol_class(
                    config=config,
                    server_state=self.server_state,
                    app_state=self.lifespan.state,
                )
                return made

            servers = await serve_private_pipe(protocol, self.address)
            closer: Any = _Servers(servers)  # what uvicorn calls on its servers at shutdown
            self.servers.append(closer)
