"""systemd: the units `credd service install` renders, and the daemon under socket activation.

No systemd runs as PID 1 here: the units are checked with `systemd-analyze verify` and
scored with `systemd-analyze security --offline=true`; socket activation runs through
`systemd-socket-activate`, which passes the socket exactly as systemd does (LISTEN_FDS,
LISTEN_PID, descriptor 3), and readiness goes to a notify socket this test binds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

PASSED_VARS = (
    "CREDD_HOME",
    "CREDD_SOCKET",
    "DBUS_SESSION_BUS_ADDRESS",
    "HOME",
    "PATH",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR",
)


def unit_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user"


def test_install_renders_units_that_systemd_accepts(headless_credd_env: dict[str, str]) -> None:
    require_program("systemd-analyze")
    env = headless_credd_env
    first = credd(env, "service", "install")
    assert first.returncode == 0, first.stderr
    units = [
        unit_dir(env) / "credd.socket",
        unit_dir(env) / "credd.service",
        unit_dir(env) / "credd-ssh-agent.socket",
    ]
    for unit in units:
        assert f"wrote: {unit}" in first.stdout
        assert unit.stat().st_mode & 0o777 == 0o600
    # No user manager here: the files are written and the commands to enable them shown.
    assert "not enabled" in first.stdout
    assert "systemctl --user enable --now credd.socket" in first.stdout

    service = units[1].read_text()
    assert f"ExecStart={Path(env['PATH'].split(os.pathsep)[0]) / 'credd'} serve" in service
    assert f"Environment=CREDD_SOCKET={env['CREDD_SOCKET']}" in service
    assert f"ListenStream={env['CREDD_SOCKET']}" in units[0].read_text()
    agent_unit = units[2].read_text()
    assert "FileDescriptorName=ssh-agent" in agent_unit
    assert f"ListenStream={os.path.dirname(env['CREDD_SOCKET'])}/ssh-agent-" in agent_unit
    # The default keeps the daemon in the user's namespaces (programs identifiable): 6.2, of
    # which more than half is capabilities the offline scorer assumes (it rates a unit as
    # root) and a user's process does not hold. The --strict sandbox is the tight one.
    assert exposure(env, units) <= 6.5

    strict = credd(env, "service", "install", "--strict")
    assert strict.returncode == 0, strict.stderr
    assert "cannot identify the programs" in strict.stdout
    service = units[1].read_text()
    assert f"ReadWritePaths={env['CREDD_HOME']}" in service
    # The views' sockets are bound beside the main one.
    assert f"ReadWritePaths=-{Path(env['CREDD_SOCKET']).parent}" in service
    assert "PrivateTmp=no" in service  # the state folder is in /tmp here
    assert exposure(env, units) <= 2.0
    status = credd(env, "service", "status")
    assert "installed (--strict: programs cannot be identified)" in status.stdout

    assert credd(env, "service", "install").returncode == 0
    again = credd(env, "service", "install")
    assert again.returncode == 0
    assert again.stdout.count("up to date:") == 3
    assert credd(env, "service", "status").returncode == 0

    removed = credd(env, "service", "uninstall")
    assert removed.returncode == 0
    assert not any(unit.exists() for unit in units)
    assert credd(env, "service", "status").returncode == 1


def exposure(env: dict[str, str], units: list[Path]) -> float:
    """The units verified by systemd-analyze, and credd.service's exposure score."""
    verify = subprocess.run(
        ["systemd-analyze", "--user", "verify", *map(str, units)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout + verify.stderr == ""
    security = subprocess.run(
        ["systemd-analyze", "security", "--user", "--offline=true", str(units[1])],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    score = re.search(r"Overall exposure level for credd.service: ([0-9.]+)", security.stdout)
    assert score is not None, security.stdout + security.stderr
    return float(score.group(1))


def test_units_under_the_runtime_dir_use_the_t_specifier(
    headless_credd_env: dict[str, str],
) -> None:
    env = {key: value for key, value in headless_credd_env.items() if key != "CREDD_SOCKET"}
    assert credd(env, "service", "install").returncode == 0
    socket_unit = (unit_dir(env) / "credd.socket").read_text()
    assert re.search(r"^ListenStream=%t/credd/credd-[0-9a-f]{12}\.sock$", socket_unit, re.M)
    assert "SocketMode=0600" in socket_unit
    assert "DirectoryMode=0700" in socket_unit


@pytest.fixture
def notify_socket(short_tmp: Path) -> Iterator[tuple[socket.socket, str]]:
    path = short_tmp / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(60)
    yield sock, str(path)
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    message = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in message.splitlines())


def test_socket_activation_serves_the_inherited_socket_and_notifies(
    headless_credd_env: dict[str, str], notify_socket: tuple[socket.socket, str]
) -> None:
    program = require_program("systemd-socket-activate")
    env = headless_credd_env
    notify, notify_path = notify_socket
    sock_path = Path(env["CREDD_SOCKET"])
    sock_path.parent.mkdir(mode=0o700)
    passed = [f"--setenv={name}={env[name]}" for name in PASSED_VARS]
    passed.append(f"--setenv=NOTIFY_SOCKET={notify_path}")
    log = (sock_path.parent / "activate.log").open("wb")
    activator = subprocess.Popen(
        [program, f"--listen={sock_path}", *passed, "python3", "-m", "credd", "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock_path.exists():  # systemd-socket-activate binds before anything runs
            assert activator.poll() is None, (sock_path.parent / "activate.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # The first connection starts the daemon (systemd-socket-activate execs it in place).
        assert credd(env, "set", "via-systemd", input="v").returncode == 0
        ready = receive(notify)
        assert ready["READY"] == "1"
        assert str(sock_path) in ready["STATUS"]
        status = json.loads(credd(env, "status", "--json").stdout)
        assert status["pid"] == activator.pid
        assert credd(env, "get", "via-systemd").stdout == "v\n"

        activator.send_signal(signal.SIGTERM)
        assert activator.wait(30) == 0
        assert receive(notify)["STOPPING"] == "1"
    finally:
        if activator.poll() is None:
            activator.kill()
            activator.wait()
        log.close()
    # The socket file is systemd's: the daemon leaves it in place.
    assert sock_path.exists()
    daemon_log = (sock_path.parent / "activate.log").read_text()
    assert "serving on the socket systemd passed" in daemon_log


def activate(env: dict[str, str], listen: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`credd serve` under systemd-socket-activate, expected to refuse what it is given."""
    program = require_program("systemd-socket-activate")
    passed = [f"--setenv={name}={env[name]}" for name in PASSED_VARS]
    activator = subprocess.Popen(
        [program, f"--listen={listen}", *options, *passed, "python3", "-m", "credd", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not listen.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        kind = socket.SOCK_DGRAM if "--datagram" in options else socket.SOCK_STREAM
        with socket.socket(socket.AF_UNIX, kind) as poke:  # starts the daemon
            poke.connect(str(listen))
            if kind == socket.SOCK_DGRAM:
                poke.send(b"x")
            output, _ = activator.communicate(timeout=60)
    finally:
        if activator.poll() is None:
            activator.kill()
            activator.communicate()
    return subprocess.CompletedProcess(activator.args, activator.returncode, output, "")


def test_a_datagram_socket_from_systemd_is_refused(headless_credd_env: dict[str, str]) -> None:
    env = headless_credd_env
    Path(env["CREDD_SOCKET"]).parent.mkdir(mode=0o700)
    result = activate(env, Path(env["CREDD_SOCKET"]), "--datagram")
    assert result.returncode == 1
    assert "not a Unix stream socket" in result.stdout
    assert "Traceback" not in result.stdout


def test_a_socket_where_clients_do_not_look_is_refused(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env
    folder = Path(env["CREDD_SOCKET"]).parent
    folder.mkdir(mode=0o700)
    result = activate(env, folder / "elsewhere.sock")
    assert result.returncode == 1
    assert "clients look for" in result.stdout
    assert "Traceback" not in result.stdout


def test_socket_activation_maps_the_agent_socket_by_its_name(
    headless_credd_env: dict[str, str],
) -> None:
    """credd-ssh-agent.socket: systemd passes it with credd.socket, named by
    FileDescriptorName= (LISTEN_FDNAMES); a connection to the agent starts the daemon."""
    from credd_client._paths import agent_socket_path

    program = require_program("systemd-socket-activate")
    require_program("ssh-add")
    env = headless_credd_env
    sock_path = Path(env["CREDD_SOCKET"])
    agent_path = Path(agent_socket_path(env))
    sock_path.parent.mkdir(mode=0o700)
    passed = [f"--setenv={name}={env[name]}" for name in PASSED_VARS]
    log_path = sock_path.parent / "activate.log"
    with log_path.open("wb") as log:
        activator = subprocess.Popen(
            [
                program,
                f"--listen={sock_path}",
                f"--listen={agent_path}",
                "--fdname=credd:ssh-agent",
                *passed,
                "python3",
                "-m",
                "credd",
                "serve",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not agent_path.exists():
            assert activator.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        listed = subprocess.run(
            ["ssh-add", "-l"],
            env={**env, "SSH_AUTH_SOCK": str(agent_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert listed.returncode == 1, listed.stderr  # the agent answered: no identities
        status = json.loads(credd(env, "status", "--json").stdout)
        assert status["pid"] == activator.pid
        activator.send_signal(signal.SIGTERM)
        assert activator.wait(30) == 0
    finally:
        if activator.poll() is None:
            activator.kill()
            activator.wait()
    assert "SSH agent on" in log_path.read_text()
    assert agent_path.exists()  # systemd's file: left in place
