"""`credd ssh` and a plain `ssh -R`: a view of the laptop's daemon on a "remote" machine.

A real sshd on 127.0.0.1 and a throwaway local user as the remote account
(tests/support/sshd.py); a git server behind basic auth (tests/support/git_server.py) whose
password only the laptop's credd holds. On the remote side, with only the client there:
`git clone` and `git push` work, `credd get` reads an allowed name and nothing else, a
write is refused and git goes on; expiry and removal end the forward's answers; the
laptop's audit log names the view.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from credd_client import Client
from tests.support.cli import credd, run_program
from tests.support.daemon import DaemonProcess
from tests.support.git_server import GitHttpServer
from tests.support.sshd import HOST, RemoteBox

pytestmark = pytest.mark.integration

PASSWORD = "git-password-only-the-laptop-has"
OUTSIDE = "aws:prod"
OUTSIDE_SECRET = "outside-secret-never-remote"


@pytest.fixture
def box() -> Iterator[RemoteBox]:
    import os
    import shutil

    if os.geteuid() != 0:
        pytest.fail("this test makes a local user for sshd: it needs root (CI is root)")
    root = Path(tempfile.mkdtemp(prefix="cdssh", dir="/tmp"))
    try:
        with RemoteBox(root) as remote:
            yield remote
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def git_server(short_tmp: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(short_tmp / "git", "alice", PASSWORD) as server:
        yield server


@pytest.fixture
def laptop(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], git_server: GitHttpServer
) -> dict[str, str]:
    env = headless_credd_env
    host = f"127.0.0.1:{git_server.port}"
    stored = run_program(
        env,
        "git-credential-credd",
        "store",
        input=f"protocol=http\nhost={host}\nusername=alice\npassword={PASSWORD}\n\n",
    )
    assert stored.returncode == 0, stored.stderr
    assert credd(env, "set", OUTSIDE, input=OUTSIDE_SECRET).returncode == 0
    return env


def pattern(git_server: GitHttpServer) -> str:
    return f"git:http://*127.0.0.1:{git_server.port}*"


def credd_ssh(
    env: dict[str, str], box: RemoteBox, *args: str, command: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`credd ssh [ARGS] devbox -F CONFIG -- COMMAND`, the laptop's side."""
    return credd(env, "ssh", *args, HOST, *box.ssh_args(), "--", command, timeout=timeout)


def _remote_work(git_server: GitHttpServer, name: str) -> str:
    url = f"{git_server.url}/repo.git"
    return (
        f"set -e; cd ~; rm -rf work; git clone -q {url} work; cd work; "
        "echo hello > file; git add file; git commit -q -m remote; git push -q origin HEAD:main; "
        "echo pushed; "
        f"credd get '{name}'; "
        f"if credd get '{OUTSIDE}'; then echo LEAK; else echo outside=$?; fi; "
        f"if printf x | credd set '{name}'; then echo WROTE; else echo write=$?; fi; "
        "printf 'protocol=http\\nhost=127.0.0.1:%s\\nusername=alice\\npassword=other\\n\\n' "
        f"{git_server.port} | git credential approve; echo approve=$?; "
        "ls -la ~ | grep -c credentials || true"
    )


def _audit(env: dict[str, str]) -> list[dict[str, object]]:
    text = (Path(env["CREDD_HOME"]) / "audit.log").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _git_name(env: dict[str, str]) -> str:
    [name] = [
        line.split("\t")[0]
        for line in credd(env, "list").stdout.splitlines()
        if line.startswith("git:")
    ]
    return name


def test_credd_ssh_git_push_on_the_remote_with_the_laptops_password(
    laptop: dict[str, str], box: RemoteBox, git_server: GitHttpServer
) -> None:
    env = laptop
    name = _git_name(env)
    done = credd_ssh(
        env, box, "--allow", pattern(git_server), command=_remote_work(git_server, name)
    )
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.splitlines()
    assert lines[:5] == ["pushed", PASSWORD, "outside=4", "write=1", "approve=0"], done.stdout
    assert OUTSIDE_SECRET not in done.stdout + done.stderr
    assert git_server.authorized_requests > 0
    # No token was written on the remote machine.
    leftover = subprocess.run(
        ["grep", "-rl", PASSWORD, str(box.home)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout == ""
    # The remote folder is the user's own and private.
    folder = box.remote_socket.parent
    assert folder.stat().st_uid == box.uid
    assert folder.stat().st_mode & 0o777 == 0o700
    # The laptop's audit log: what was read through which view.
    view = f"ssh-{HOST}"
    through = [(r["op"], r["name"], r["outcome"]) for r in _audit(env) if r["view"] == view]
    assert ("get", name, "ok") in through
    assert ("get", OUTSIDE, "not_found") in through
    assert ("set", name, "forbidden") in through
    assert all(r["view"] in (None, view) for r in _audit(env))


def test_a_plain_ssh_R_forward_of_a_view(
    laptop: dict[str, str], box: RemoteBox, git_server: GitHttpServer
) -> None:
    env = laptop
    name = _git_name(env)
    made = credd(env, "view", "add", "plain", "--allow", pattern(git_server))
    assert made.returncode == 0, made.stderr
    view_socket = made.stdout.strip()
    folder = box.remote_socket.parent
    assert box.run(f"mkdir -m 700 -p {folder}").returncode == 0
    done = subprocess.run(
        [
            "ssh",
            *box.ssh_args(),
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            f"{box.remote_socket}:{view_socket}",
            HOST,
            _remote_work(git_server, name),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.splitlines()[:5] == ["pushed", PASSWORD, "outside=4", "write=1", "approve=0"]
    assert any(r["view"] == "plain" and r["op"] == "get" for r in _audit(env))


_POLL = (
    "credd get '{name}' >/dev/null && echo first; i=0; "
    "while credd get '{name}' >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 300 ] || exit 9; "
    "sleep 0.1; done; credd get '{name}'; echo ended=$?"
)


@pytest.mark.parametrize("how", ["ttl", "remove"])
def test_expiry_and_removal_end_the_forwards_answers(
    laptop: dict[str, str], box: RemoteBox, git_server: GitHttpServer, how: str
) -> None:
    env = laptop
    name = _git_name(env)
    ttl = ["--ttl", "3s"] if how == "ttl" else []
    args = [
        "credd",
        "ssh",
        "--view",
        "brief",
        "--allow",
        pattern(git_server),
        *ttl,
        HOST,
        *box.ssh_args(),
        "--",
        _POLL.format(name=name),
    ]
    session = subprocess.Popen(
        [str(Path(env["PATH"].split(":")[0]) / args[0]), *args[1:]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert session.stdout is not None
        assert session.stdout.readline().strip() == "first"
        if how == "remove":
            assert credd(env, "view", "remove", "brief").returncode == 0
        out, err = session.communicate(timeout=90)
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert session.returncode == 0, err
    assert out.strip().endswith("ended=3"), out + err
    with Client(env["CREDD_SOCKET"]) as client:
        assert [v["name"] for v in client.views()] == []


def test_credd_ssh_failures_are_named_and_leave_nothing(
    laptop: dict[str, str], box: RemoteBox, short_tmp: Path
) -> None:
    env = laptop
    # No ssh on PATH: nothing made.
    no_ssh = {**env, "PATH": str(Path(env["PATH"].split(":")[0]))}
    done = credd(no_ssh, "ssh", "--allow", "git:*", HOST, "--", "true")
    assert done.returncode == 1
    assert "ssh is not installed" in done.stderr
    # No view and no --allow: a usage error naming the view.
    done = credd(env, "ssh", HOST, *box.ssh_args(), "--", "true")
    assert done.returncode == 4
    assert "ssh-devbox" in done.stderr
    # A bad pattern, a bad TTL, a bad view name.
    for args, says in (
        (["--allow", ""], "cannot be empty"),
        (["--allow", "git:*", "--ttl", "later"], "does not parse"),
        (["--view", "a b", "--allow", "git:*"], "plain word"),
    ):
        done = credd(env, "ssh", *args, HOST, *box.ssh_args(), "--", "true")
        assert done.returncode == 2, done.stderr
        assert says in done.stderr
    with Client(env["CREDD_SOCKET"]) as client:
        assert client.views() == []
    # The remote folder belongs to someone else: refused, named.
    folder = box.remote_socket.parent
    folder.mkdir(mode=0o755)
    done = credd_ssh(env, box, "--allow", "git:*", command="true")
    assert done.returncode == 1
    assert "cannot make the remote socket folder" in done.stderr
    assert "belongs to another user" in done.stderr
    with Client(env["CREDD_SOCKET"]) as client:
        assert client.views() == []  # no view made for a session that did not start
    folder.rmdir()
    # The forward refused by the server (a folder the remote user cannot make a socket in).
    folder.mkdir(mode=0o700)
    import os

    os.chown(folder, box.uid, box.uid)
    (folder / "credd.sock").mkdir()  # not a socket: sshd cannot bind there
    done = credd_ssh(env, box, "--allow", "git:*", command="echo ran")
    assert done.returncode == 255
    assert "ran" not in done.stdout
    assert "forward" in done.stderr


def test_a_symlinked_remote_folder_is_refused_and_its_target_untouched(
    laptop: dict[str, str], box: RemoteBox
) -> None:
    import os

    # A link another user (root here) made where the remote user's socket folder belongs,
    # pointing at a folder of the remote user's own: `[ -O ]` and chmod would follow it.
    target = box.home / "target"
    target.mkdir(mode=0o755)
    os.chown(target, box.uid, box.uid)
    target.chmod(0o755)
    box.remote_socket.parent.symlink_to(target)
    done = credd_ssh(laptop, box, "--allow", "git:*", command="echo ran")
    assert done.returncode == 1, done.stderr
    assert "ran" not in done.stdout
    assert "is a symbolic link" in done.stderr
    assert target.stat().st_mode & 0o777 == 0o755
    assert list(target.iterdir()) == []
    with Client(laptop["CREDD_SOCKET"]) as client:
        assert client.views() == []


@pytest.mark.parametrize("answer", ["0.0.0.0:8022", "{home}/a b/credd.sock", "{home}/x\\y.sock"])
def test_a_remote_socket_answer_that_would_reshape_the_forward_is_refused(
    laptop: dict[str, str], box: RemoteBox, answer: str
) -> None:
    # The remote's own environment names the socket (a compromised or careless dev box), in
    # folders of the remote user's own, so only the path itself is wrong.
    named = answer.format(home=box.home)
    shell = f"#!/bin/sh\nCREDD_SOCKET='{named}'; export CREDD_SOCKET\nexec /bin/sh \"$@\"\n"
    box.use_login_shell(shell)
    done = credd_ssh(laptop, box, "--allow", "git:*", command="echo ran")
    assert done.returncode == 1, done.stderr
    assert "ran" not in done.stdout
    assert "credd forwards only onto an absolute path" in done.stderr
    with Client(laptop["CREDD_SOCKET"]) as client:
        assert client.views() == []
