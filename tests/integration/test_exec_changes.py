"""`credd exec` while its credentials change: --file kept current, --on-change, daemon restarts,
lock and unlock. Real daemon, real OAuth server, real children that report what they see."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from credd_client import Client
from tests.integration.test_oauth import login, parse
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.oauth_server import SERVER_DIR, OAuthServer
from tests.support.requirements import require_path, require_program

pytestmark = pytest.mark.integration

WAIT = 60.0
LATENCY = 0.2  # the bound from the daemon storing a token to the command reading it

# Reads its file (argv[1]) every 100 ms; logs "TIME CONTENT" to argv[2] at each new content.
READER = r"""
import sys, time
path, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
last = None
while True:
    try:
        content = open(path).read()
    except FileNotFoundError:
        content = None
    if content != last:
        log.write(f"{time.time()} {content}\n")
        last = content
    time.sleep(0.1)
"""
# Logs "start VALUE-OF-TOKEN" to argv[1]; on SIGHUP prints "hup CONTENT-OF-argv[2]".
SERVER = r"""
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
def reload(signum, frame):
    print("hup " + open(sys.argv[2]).read(), flush=True)
signal.signal(signal.SIGHUP, reload)
log.write(f"start {os.environ.get('TOKEN')}\n")
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def wait_for(what: str, check: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def holders(env: dict[str, str]) -> list[tuple[int, list[str]]]:
    """The exec holders `credd status --json` lists: pid and names."""
    status = json.loads(credd(env, "status", "--json").stdout)
    return [(w["pid"], w["names"]) for w in status.get("watchers") or [] if w["holder"] == "exec"]


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    """The real authorization server, its access tokens living 6 s: a refresh about every 4 s."""
    node = require_program("node")
    require_path(SERVER_DIR / "node_modules" / "oidc-provider", "oidc-provider (npm ci)")
    with OAuthServer(node, access_token_ttl=6) as server:
        yield server


@pytest.fixture
def exec_command(
    headless_credd_env: dict[str, str],
) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `credd exec ARGS...` in the background; every one still running is ended."""
    program = shutil.which("credd", path=headless_credd_env["PATH"])
    assert program is not None
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [program, "exec", *args],
            env=headless_credd_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # no terminal: every signal is passed on
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=WAIT)


def test_a_file_follows_three_oauth_refreshes_each_within_200_ms(
    oauth_server: OAuthServer,
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    exec_command: Callable[..., subprocess.Popen[str]],
    short_tmp: Path,
) -> None:
    env = headless_credd_env
    assert login(env, "work", oauth_server.issuer).returncode == 0
    token_file, seen_log = short_tmp / "app" / "token", short_tmp / "seen"
    # The test's own watch: each refreshed token and when the daemon took it.
    stored: list[tuple[str, datetime]] = []
    with Client(env["CREDD_SOCKET"]) as watching, Client(env["CREDD_SOCKET"]) as reader:
        watch = watching.watch(["work"])

        def follow() -> None:
            for event in watch:
                if event.type == "refreshed":
                    credential = reader.get("work")
                    assert credential.secret is not None
                    assert credential.updated_at is not None
                    stored.append((credential.secret, parse(credential.updated_at)))

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        proc = exec_command(
            "--file",
            f"{token_file}=work",
            "--",
            sys.executable,
            "-c",
            READER,
            str(token_file),
            str(seen_log),
        )
        try:
            wait_for("three refreshes", lambda: len(stored) >= 3)
            last = stored[2][0]
            wait_for("the third token read", lambda: any(last in line for line in lines(seen_log)))
        finally:
            watch.close()
            follower.join(WAIT)
    assert proc.poll() is None, "the command ran on, untouched (--on-change ignore)"
    proc.terminate()
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == -signal.SIGTERM
    first_seen: dict[str, float] = {}
    for line in lines(seen_log):
        moment, _, content = line.partition(" ")
        first_seen.setdefault(content, float(moment))
    for token, taken_at in stored[:3]:
        assert token in first_seen, "a refreshed token never reached the file"
        delay = first_seen[token] - taken_at.timestamp()
        assert delay <= LATENCY, f"the file got a token {delay * 1000:.0f} ms after the daemon"
    assert not token_file.exists(), "removed when the command ended"
    for token, _ in stored:
        assert token not in err


def test_on_change_restart_starts_the_command_again_with_the_new_environment(
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    exec_command: Callable[..., subprocess.Popen[str]],
    short_tmp: Path,
) -> None:
    env, log = headless_credd_env, short_tmp / "log"
    assert credd(env, "set", "tok", input="first").returncode == 0
    proc = exec_command(
        "--env",
        "TOKEN=tok",
        "--on-change",
        "restart",
        "--grace",
        "5",
        "--",
        sys.executable,
        "-c",
        SERVER,
        str(log),
        "/dev/null",
    )
    wait_for("the first start", lambda: lines(log) == ["start first"])
    # One events connection, declared as exec's, holding its one name.
    wait_for("the exec watcher in credd status", lambda: holders(env) == [(proc.pid, ["tok"])])
    assert credd(env, "set", "tok", input="second").returncode == 0
    wait_for("the restart", lambda: lines(log) == ["start first", "start second"])
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=WAIT)
    assert proc.returncode == -signal.SIGTERM
    assert lines(log) == ["start first", "start second"], "a stop is not a restart"


def test_signal_hup_reaches_the_command_after_its_file_is_replaced_and_masked(
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    exec_command: Callable[..., subprocess.Popen[str]],
    short_tmp: Path,
) -> None:
    env, token_file = headless_credd_env, short_tmp / "token"
    assert credd(env, "set", "tok", input="old-value-3f1").returncode == 0
    proc = exec_command(
        "--mask",
        "--file",
        f"{token_file}=tok",
        "--env",
        "TOKEN=tok",
        "--on-change",
        "signal:HUP",
        "--",
        sys.executable,
        "-c",
        SERVER,
        str(short_tmp / "log"),
        str(token_file),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    token_file.chmod(0o640)  # a replaced file keeps the mode it has
    assert credd(env, "set", "tok", input="new-value-9c2").returncode == 0
    # The command read the new file on SIGHUP, and --mask knew the new value by then.
    assert proc.stdout.readline() == "hup <concealed by credd>\n"
    assert token_file.read_text() == "new-value-9c2"
    assert token_file.stat().st_mode & 0o777 == 0o640
    proc.terminate()
    out, err = proc.communicate(timeout=WAIT)
    assert "cannot change a running command's environment: TOKEN" in err
    assert "new-value-9c2" not in out + err
    assert "old-value-3f1" not in out + err


def test_on_change_exit_stops_the_command_and_ends_with_its_status(
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    exec_command: Callable[..., subprocess.Popen[str]],
    short_tmp: Path,
) -> None:
    env = headless_credd_env
    assert credd(env, "set", "tok", input="one").returncode == 0
    child = (
        "import signal, sys, time; signal.signal(15, lambda *a: sys.exit(7)); "
        "print('ready', flush=True); time.sleep(60)"
    )
    proc = exec_command(
        "--file", f"{short_tmp / 't'}=tok", "--on-change", "exit", "--", sys.executable, "-c", child
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    assert credd(env, "set", "tok", input="two").returncode == 0
    proc.communicate(timeout=WAIT)
    assert proc.returncode == 7


def test_a_daemon_restart_and_a_lock_lose_nothing(
    headless_credd_env: dict[str, str],
    exec_command: Callable[..., subprocess.Popen[str]],
    short_tmp: Path,
) -> None:
    env, token_file = headless_credd_env, short_tmp / "token"
    home, socket = Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"])
    with DaemonProcess(home, socket, env) as first:
        assert credd(env, "set", "tok", input="v1").returncode == 0
        proc = exec_command("--file", f"{token_file}=tok", "--", "sleep", "600")
        wait_for("the file", lambda: token_file.exists() and token_file.read_text() == "v1")
        assert first.stop() == 0
    time.sleep(0.5)  # the watch finds no daemon and retries
    with DaemonProcess(home, socket, env) as second:
        # Changed at once, maybe before the watch is back: its catch-up by versions finds it.
        assert credd(env, "set", "tok", input="v2").returncode == 0
        wait_for("v2 after the restart", lambda: token_file.read_text() == "v2")
        assert credd(env, "set", "tok", input="v3").returncode == 0
        wait_for("v3", lambda: token_file.read_text() == "v3")
        # Locked: the file stays as it is; unlocked: changes flow again.
        assert credd(env, "lock").returncode == 0
        time.sleep(0.5)
        assert token_file.read_text() == "v3"
        assert credd(env, "unlock").returncode == 0
        assert credd(env, "set", "tok", input="v4").returncode == 0
        wait_for("v4 after the unlock", lambda: token_file.read_text() == "v4")
        assert proc.poll() is None
        proc.terminate()
        proc.communicate(timeout=WAIT)
        assert second.stop() == 0
    assert not token_file.exists()


def test_by_default_a_stale_variable_is_reported_and_the_command_left_alone(
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    exec_command: Callable[..., subprocess.Popen[str]],
    short_tmp: Path,
) -> None:
    env, log = headless_credd_env, short_tmp / "log"
    assert credd(env, "set", "tok", input="first").returncode == 0
    proc = exec_command("--env", "TOKEN=tok", "--", sys.executable, "-c", SERVER, str(log), "x")
    wait_for("the start", lambda: lines(log) == ["start first"])
    assert credd(env, "set", "tok", input="second").returncode == 0
    assert proc.stderr is not None
    assert proc.stderr.readline() == (
        "credd: tok changed; in the command's environment TOKEN still holds the old value "
        "(--on-change restart brings the new one)\n"
    )
    assert proc.poll() is None
    assert lines(log) == ["start first"]
