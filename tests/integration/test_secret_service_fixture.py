"""The Secret Service fixture is the real thing: gnome-keyring answering on a private bus.

Each check runs in a child process with the fixture's environment, as the daemon will.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.support.requirements import require_program
from tests.support.secret_service import SecretService, headless_env

pytestmark = pytest.mark.integration


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-c", textwrap.dedent(code)], env)


def test_keyring_secret_service_backend_round_trip(secret_service: SecretService) -> None:
    service = f"credd-test-{uuid.uuid4().hex}"
    result = run_python(
        f"""
        from keyring.backends.SecretService import Keyring

        backend = Keyring()
        print(backend.priority)
        backend.set_password({service!r}, "alice", "pa55 wörd")
        print(backend.get_password({service!r}, "alice"))
        """,
        secret_service.env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["5", "pa55 wörd"]

    # Another client on the same bus sees the item: it lives in gnome-keyring.
    require_program("secret-tool")
    lookup = run(
        ["secret-tool", "lookup", "service", service, "username", "alice"], secret_service.env
    )
    assert (lookup.returncode, lookup.stdout) == (0, "pa55 wörd")

    result = run_python(
        f"""
        from keyring.backends.SecretService import Keyring

        backend = Keyring()
        backend.delete_password({service!r}, "alice")
        print(backend.get_password({service!r}, "alice"))
        """,
        secret_service.env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["None"]


def test_secret_tool_round_trip(secret_service: SecretService) -> None:
    require_program("secret-tool")
    attributes = ["credd-test", uuid.uuid4().hex]
    stored = run(
        ["secret-tool", "store", "--label=credd test", *attributes], secret_service.env, "s3cret"
    )
    assert stored.returncode == 0, stored.stderr
    found = run(["secret-tool", "lookup", *attributes], secret_service.env)
    assert (found.returncode, found.stdout) == (0, "s3cret")
    cleared = run(["secret-tool", "clear", *attributes], secret_service.env)
    assert cleared.returncode == 0, cleared.stderr
    gone = run(["secret-tool", "lookup", *attributes], secret_service.env)
    assert (gone.returncode, gone.stdout) == (1, "")


def test_headless_env_has_no_secret_service(short_tmp: Path) -> None:
    env = headless_env(short_tmp)
    assert not Path(env["DBUS_SESSION_BUS_ADDRESS"].removeprefix("unix:path=")).exists()
    result = run_python(
        """
        from keyring.backends.SecretService import Keyring

        try:
            Keyring.priority
        except Exception as exc:
            print("not viable:", type(exc).__name__)
        else:
            print("viable")
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("not viable:"), result.stdout


def test_stop_ends_both_processes_and_removes_the_folder() -> None:
    for program in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
        require_program(program)
    with SecretService() as service:
        pids = service.pids
        root = service.root
        assert len(pids) == 2
        assert service.has_owner()
        assert root is not None
        assert len(service.env["DBUS_SESSION_BUS_ADDRESS"]) < 100
    assert not root.exists()
    for pid in pids:
        # Gone (or, rarely, the pid already reused by some other program).
        assert _command(pid) not in {"dbus-daemon", "gnome-keyring-d"}


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
