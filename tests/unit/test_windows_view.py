"""Windows as the code sees it, simulated on Linux (items 7 to 12 of issue 15).

The first test runs tests/support/simulated_windows.py: a Python whose Unix-only modules and
names are gone and whose `sys.platform` is "win32" imports every module of both packages,
runs `credd --help` and writes a store. The others simulate one Windows trait each in this
process. None of the Win32 calls run here.
"""

from __future__ import annotations

import errno
import io
import ntpath
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from credd.access import check_reader
from credd.api.models import CredentialIn
from credd.cli import importer
from credd.store import files
from credd.store.files import StoreFile
from credd.store.records import Credential
from credd.system.peer import Peer
from credd_client._pipe import PipeStream, verify_server
from credd_client.errors import Forbidden, WriteFailed

SIMULATION = Path(__file__).resolve().parents[1] / "support" / "simulated_windows.py"
SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


def test_every_module_imports_and_help_and_the_store_run_on_a_simulated_windows(
    tmp_path: Path,
) -> None:
    """Items 7 and 8 (hygiene imported `resource`, exec read SIGHUP... at import) and 9."""
    result = subprocess.run(
        [sys.executable, str(SIMULATION), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    imported = int(lines[0].split()[1])
    assert imported >= 60  # every module of credd and credd_client but __main__
    assert lines[1:] == [
        "help: True",
        "exec help: True",
        "forwarded: [2, 15, 21]",  # SIGINT, SIGTERM, SIGBREAK: what Windows has
        "store: True",
        "no O_DIRECTORY: True",
        r"ssh-agent: $env:SSH_AUTH_SOCK = '\\.\pipe\sim-agent'",  # config.toml's pipe
    ]
    assert (tmp_path / "store.credd").stat().st_size > 0


@pytest.fixture
def windows_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows: no O_DIRECTORY, and a folder cannot be opened as a file."""
    real_open = os.open

    def open_no_folders(path: object, flags: int, *args: object) -> int:
        if os.path.isdir(path):  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "O_DIRECTORY")
    monkeypatch.setattr(os, "open", open_no_folders)


@pytest.mark.usefixtures("windows_folders")
def test_a_store_write_succeeds_without_a_folder_sync(tmp_path: Path) -> None:
    """Item 9: before, the folder fsync raised AttributeError after the store was replaced."""
    store = StoreFile(tmp_path / "store.credd")
    store.write(b"first")
    store.write(b"second")
    assert store.path.read_bytes() == b"second"


@pytest.mark.usefixtures("windows_folders")
def test_the_importer_replaces_a_file_without_a_folder_sync(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    importer._replace_file(str(config), b'{"credsStore": "credd"}')
    assert config.read_bytes() == b'{"credsStore": "credd"}'


def test_a_failure_after_the_replace_never_claims_the_old_store_is_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StoreFile(tmp_path / "store.credd")
    store.write(b"old")

    def failing_sync(folder: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files, "sync_folder", failing_sync)
    with pytest.raises(WriteFailed) as failed:
        store.write(b"new")
    message = failed.value.message
    assert "intact" not in message
    assert message.startswith(f"wrote {store.path}, but could not sync its folder")
    assert "may not survive" in message
    assert store.path.read_bytes() == b"new"


# --- item 12: the client's check of the pipe's server ----------------------------------------


def test_a_failing_win32_query_refuses_the_pipe_instead_of_a_traceback() -> None:
    def denied() -> str:
        raise OSError(errno.EACCES, "[WinError 5] Access is denied")

    with pytest.raises(Forbidden, match=r"cannot tell which user serves \\\\.\\pipe\\c"):
        verify_server(r"\\.\pipe\c", denied, lambda: SID)
    with pytest.raises(Forbidden, match="cannot tell"):
        verify_server(r"\\.\pipe\c", lambda: SID, denied)
    with pytest.raises(Forbidden, match="not as you"):
        verify_server(r"\\.\pipe\c", lambda: "S-1-5-18", lambda: SID)
    verify_server(r"\\.\pipe\c", lambda: SID, lambda: SID)


class ClosedPipe(io.RawIOBase):
    """What writing to a pipe the server closed does on Windows: EINVAL, not EPIPE."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")


def test_a_pipe_closed_by_the_daemon_reads_as_a_stale_connection(tmp_path: Path) -> None:
    """uvicorn closes idle keep-alive connections after 5 s; the client must reconnect.

    The transport sends a request again on a new connection after BrokenPipeError (a stale
    keep-alive connection), so EINVAL from the pipe must become one.
    """
    stream = PipeStream(os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT))
    stream._file.close()
    stream._file = ClosedPipe()  # type: ignore[assignment]
    with pytest.raises(BrokenPipeError):
        stream.sendall(b"GET /v1/status HTTP/1.1\r\n\r\n")


# --- item 12: --allow-program with Windows paths -----------------------------------------------

GIT = r"C:\Program Files\Git\cmd\git.exe"


@pytest.mark.parametrize("program", [GIT, r"\\server\tools\git.exe", "/usr/bin/git"])
def test_absolute_windows_and_unix_paths_may_be_allowed(program: str) -> None:
    body = CredentialIn(secret="s", allowed_programs=[program])
    assert body.allowed_programs == [program]


@pytest.mark.parametrize("program", ["git.exe", r"cmd\git.exe", r"C:git.exe", r"\git.exe"])
def test_relative_paths_are_refused(program: str) -> None:
    with pytest.raises(ValidationError, match="absolute paths"):
        CredentialIn(secret="s", allowed_programs=[program])


def test_windows_compares_program_paths_without_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os.path, "normcase", ntpath.normcase)
    credential = Credential(name="n", kind="secret", secret="s", allowed_programs=(GIT,))
    check_reader(credential, Peer(pid=7, uid=None, exe=GIT.lower()))
    with pytest.raises(Forbidden):
        check_reader(credential, Peer(pid=7, uid=None, exe=r"C:\Windows\notepad.exe"))
    with pytest.raises(Forbidden, match="cannot identify"):
        check_reader(credential, Peer(pid=None, uid=None, exe=None))
