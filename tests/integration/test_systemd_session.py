"""credd under a real `systemd --user` login session, through the units it installs.

One session for the module (tests/support/systemd_session.py: a throwaway user, its user
manager, the session bus and gnome-keyring activated by it, a login keyring unlocked as PAM
would). The tests run in file order, as a user's first days would: install, first request,
the keyring, a stop and a restart, the hardening, per-program access and the audit log, the
stricter sandbox, uninstall. Root only; in CI a missing component fails, never skips.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.requirements import require_program
from tests.support.systemd_session import UserSession, install_app, system_python

pytestmark = [pytest.mark.integration, pytest.mark.root]

SECRET = "s3cret-from-the-session"


@pytest.fixture(scope="module")
def session() -> Iterator[UserSession]:
    with UserSession() as user:
        yield user


def units_dir(session: UserSession) -> Path:
    return session.home / ".config" / "systemd" / "user"


def socket_path(session: UserSession) -> Path:
    return session.runtime_dir / "credd" / "credd.sock"


def status(session: UserSession, program: str | None = None) -> dict[str, object]:
    result = session.credd("status", "--json", program=program)
    assert result.returncode == 0, result.stdout + result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def audit_lines(session: UserSession) -> list[dict[str, object]]:
    log = session.home / ".local" / "share" / "credd" / "audit.log"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_install_enables_the_socket_only(session: UserSession) -> None:
    installed = session.credd("service", "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "credd now starts at login (systemd)" in installed.stdout
    service = (units_dir(session) / "credd.service").read_text()
    assert "\nPrivateUsers=" not in service  # the default keeps program identification
    assert "NoNewPrivileges=yes" in service
    assert session.show("credd.socket", "UnitFileState") == "enabled"
    assert session.show("credd.socket", "ActiveState") == "active"
    # Nothing runs until someone asks: systemd holds the socket.
    assert session.show("credd.service", "ActiveState") == "inactive"
    assert session.run("test", "-S", str(socket_path(session))).returncode == 0


def test_the_first_request_starts_the_daemon_which_tells_systemd(session: UserSession) -> None:
    stored = session.credd("set", "first", input=SECRET)
    assert stored.returncode == 0, stored.stderr
    assert session.show("credd.service", "ActiveState") == "active"
    answer = status(session)
    assert session.show("credd.service", "MainPID") == str(answer["pid"])
    # Type=notify: READY=1 and the STATUS= line reached the manager.
    assert session.show("credd.service", "Type") == "notify"
    text = session.show("credd.service", "StatusText")
    assert text == f"serving on {socket_path(session)}; unlocked; key: keyring"


def test_the_store_key_is_in_the_sessions_secret_service(session: UserSession) -> None:
    answer = status(session)
    assert answer["key_backend"] == {
        "name": "keyring",
        "detail": "keyring.backends.SecretService.Keyring",
        "insecure": False,
        "reason": None,
    }
    store = session.home / ".local" / "share" / "credd" / "store.credd"
    account = f"store-key:{store}"
    item = session.run(
        require_program("secret-tool"), "lookup", "service", "credd", "username", account
    )
    assert item.returncode == 0, item.stderr
    assert item.stdout  # the key, as the session's keyring holds it
    assert not (store.parent / "store.key").exists()  # and no key file beside the store
    # The session bus is the session's: dbus.socket activated dbus.service on demand.
    assert session.show("dbus.socket", "ActiveState") == "active"
    assert session.show("dbus.service", "ActiveState") == "active"


def test_stopped_the_next_request_starts_it_again_with_nothing_lost(
    session: UserSession,
) -> None:
    before = status(session)["pid"]
    stopped = session.systemctl("stop", "credd.service")
    assert stopped.returncode == 0, stopped.stderr
    assert session.show("credd.service", "ActiveState") == "inactive"
    assert session.show("credd.socket", "ActiveState") == "active"
    read = session.credd("get", "first")
    assert read.returncode == 0, read.stderr
    assert read.stdout == SECRET + "\n"
    after = status(session)["pid"]
    assert after != before
    assert session.show("credd.service", "MainPID") == str(after)


def test_the_hardening_is_in_force_on_the_running_daemon(session: UserSession) -> None:
    pid = status(session)["pid"]
    proc = Path(f"/proc/{pid}")
    assert "NoNewPrivs:\t1" in (proc / "status").read_text()
    (core,) = [line for line in (proc / "limits").read_text().splitlines() if "core" in line]
    assert core.split()[-3:-1] == ["0", "0"]  # soft and hard: no core dumps
    assert "Seccomp:\t2" in (proc / "status").read_text()  # SystemCallFilter=
    # The host's user namespace: the daemon can read its clients' /proc/PID/exe.
    assert (proc / "uid_map").read_text().split() == ["0", "0", "4294967295"]


def test_per_program_access_and_the_audits_program_names(session: UserSession) -> None:
    curl = require_program("curl")
    shown = session.credd("status")
    assert "programs:    identified" in shown.stdout
    restricted = session.credd("set", "for-curl", "--allow-program", "curl", input=SECRET)
    assert restricted.returncode == 0, restricted.stderr

    # curl, a real program run as the user, is let through by name...
    answer = session.run(
        curl, "-sS", "--unix-socket", str(socket_path(session)),
        "http://credd/v1/credentials/for-curl",
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["secret"] == SECRET
    # ... and credd itself (python) is refused.
    refused = session.credd("get", "for-curl")
    assert refused.returncode != 0
    assert "may not read 'for-curl'" in refused.stderr

    gets = [line for line in audit_lines(session) if line["name"] == "for-curl"]
    by_outcome = {line["outcome"]: line["exe"] for line in gets if line["op"] == "get"}
    assert by_outcome["ok"] == str(Path(curl).resolve())
    assert str(by_outcome["forbidden"]).startswith("/usr/bin/python3")
    assert all(line["exe"] for line in audit_lines(session))


def test_a_strict_install_from_tmp_starts_and_says_it_cannot_identify_programs(
    session: UserSession,
) -> None:
    # A program under /tmp: with PrivateTmp=yes systemd could not even exec it (203/EXEC).
    app = install_app(session.scratch("cdsys-") / "venv", system_python())
    assert session.systemctl("stop", "credd.service").returncode == 0
    installed = session.credd("service", "install", "--strict", program=str(app))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "cannot identify the programs" in installed.stdout
    service = (units_dir(session) / "credd.service").read_text()
    assert f"ExecStart={app} serve" in service
    assert "PrivateTmp=no" in service
    assert "ProtectSystem=strict" in service

    answer = status(session, program=str(app))
    assert session.show("credd.service", "ActiveState") == "active"
    assert session.show("credd.service", "ExecMainPID") == str(answer["pid"])
    programs = answer["programs"]
    assert isinstance(programs, dict)
    assert programs["identifiable"] is False
    assert "user namespace of its own" in programs["reason"]
    assert "--strict" in programs["reason"]
    assert "programs not identifiable" in session.show("credd.service", "StatusText")
    shown = session.credd("status", program=str(app))
    assert "programs:    CANNOT BE IDENTIFIED" in shown.stdout
    assert "Reason: credd runs in a user namespace of its own" in shown.stdout

    # A restriction that cannot be checked: refused when set, refused when read.
    refused = session.credd("set", "strict", "--allow-program", "curl", input=SECRET)
    assert refused.returncode == 2
    assert "cannot identify the programs" in refused.stderr
    assert "nothing was stored" in refused.stderr
    assert session.credd("get", "strict").returncode != 0
    curl = session.run(
        require_program("curl"), "-sS", "--unix-socket", str(socket_path(session)),
        "http://credd/v1/credentials/for-curl",
    )  # fmt: skip
    assert json.loads(curl.stdout)["error"]["code"] == "forbidden"
    assert "user namespace of its own" in json.loads(curl.stdout)["error"]["message"]

    # What the choice of PrivateTmp= avoids: the same unit with a private /tmp.
    drop_in = units_dir(session) / "credd.service.d"
    session.run("mkdir", "-p", str(drop_in))
    session.run("sh", "-c", f"printf '[Service]\\nPrivateTmp=yes\\n' > {drop_in}/tmp.conf")
    try:
        assert session.systemctl("daemon-reload").returncode == 0
        assert session.systemctl("restart", "credd.service").returncode != 0
        assert session.show("credd.service", "ExecMainStatus") == "203"  # EXEC
    finally:
        shutil.rmtree(drop_in)
        session.systemctl("daemon-reload")
        session.systemctl("reset-failed", "credd.service")

    # Back to the default install: programs identified again after a restart.
    assert session.credd("service", "install").returncode == 0
    assert session.systemctl("restart", "credd.service").returncode == 0
    assert status(session)["programs"] == {"identifiable": True, "reason": None}


def test_uninstall_removes_everything(session: UserSession) -> None:
    removed = session.credd("service", "uninstall")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert list(units_dir(session).iterdir()) == []
    assert session.show("credd.socket", "LoadState") == "not-found"
    assert session.show("credd.service", "LoadState") == "not-found"
    assert session.run("test", "-e", str(socket_path(session))).returncode == 1
    listed = session.systemctl("list-unit-files", "credd*")
    assert "0 unit files listed" in listed.stdout
    # The credentials stay: uninstall stops starting credd at login, nothing more.
    assert (session.home / ".local" / "share" / "credd" / "store.credd").exists()
