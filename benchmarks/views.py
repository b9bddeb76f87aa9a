"""Views: a get through a view and through an SSH forward of it, against the main socket in
the same run; and how many views and forwarded connections one daemon holds, RSS before and
after (made, used, removed, again: memory must not grow from one round to the next).

The SSH forward is real: the tests' sshd and throwaway remote user (tests/support/sshd.py,
root only) with `ssh -N -R REMOTE:VIEW`; the remote socket is on this machine, so the client
here reaches it as the remote user's clients would (CREDD_DAEMON_UID: the peer is sshd).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from credd_client import Client

from .environment import Environment
from .latency import SECRET, timed
from .memory import resident_bytes
from .stats import Sample, latency, megabytes
from .table import Row, ratio

NAME = "git:https://bench.example/repo"
ROUNDS, WARM_UP_ROUNDS = 4, 2
GROWTH_TOLERANCE = 2**20  # below this, growth is allocator noise, not a leak


def run(env: Environment) -> list[Row]:
    sizes = env.sizes
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    with Client(str(daemon.socket)) as client:
        client.set_secret(NAME, SECRET)
        client.set_secret("aws:other", SECRET)
        view = Path(client.put_view("bench", {"patterns": ["git:*"]})["socket"])
    count = sizes.requests
    main = _gets(str(daemon.socket), count)
    through_view = _gets(str(view), count)
    rows = [
        Row(
            "get through a view (local socket), persistent connection",
            latency(through_view),
            "main socket: " + latency(main),
            ratio(through_view.p50, main.p50),
            "≤ 1.5x the main socket",
            through_view.p50 <= 1.5 * main.p50,
        )
    ]
    with _forward(env, view) as remote:
        if isinstance(remote, str):
            rows.append(Row.pending("get through an SSH forward of a view", "-", remote))
        else:
            forwarded = _gets(str(remote), max(10, count // 4))
            rows.append(
                Row(
                    "get through an SSH forward of a view (ssh -R, sshd on 127.0.0.1)",
                    latency(forwarded),
                    "main socket: " + latency(main),
                    ratio(forwarded.p50, main.p50),
                    "< 2 ms p50",
                    forwarded.p50 < 2e-3,
                )
            )
            rows.append(_forwarded_connections(daemon.pid, remote, 20 if count < 1000 else 200))
    rows.append(_many_views(daemon.pid, daemon.socket, 10 if count < 1000 else 200))
    return rows


def _gets(path: str, count: int) -> Sample:
    with Client(path) as client:
        timed(lambda: client.get(NAME), max(10, count // 10))  # warm-up
        return timed(lambda: client.get(NAME), count)


def _many_views(pid: int, main: Path, count: int) -> Row:
    """Make ``count`` views, hold a connection on each, remove them all; four rounds, the
    first two warm-up (the allocator settles there: measured, it then stays flat)."""
    before = resident_bytes(pid)
    after_rounds = []
    holding = 0
    for _ in range(ROUNDS):
        with Client(str(main)) as client:
            sockets = [
                client.put_view(f"v{n}", {"patterns": ["git:*"], "ttl": "1h"})["socket"]
                for n in range(count)
            ]
            held = [Client(path) for path in sockets]
            for each in held:
                each.get(NAME)
            holding = max(holding, resident_bytes(pid))
            for each in held:
                each.close()
            for n in range(count):
                client.delete_view(f"v{n}")
        after_rounds.append(resident_bytes(pid))
    growth = after_rounds[-1] - after_rounds[WARM_UP_ROUNDS - 1]
    return Row(
        f"{count} views with a connection each, made and removed {ROUNDS} times",
        f"RSS {megabytes(before)} before, {megabytes(holding)} holding them, "
        f"{megabytes(after_rounds[-1])} after "
        f"({growth / 2**20:+.1f} MB since round {WARM_UP_ROUNDS})",
        goal="no growth after warm-up (< 1 MB)",
        met=growth < GROWTH_TOLERANCE,
    )


def _forwarded_connections(pid: int, remote: Path, count: int) -> Row:
    """``count`` connections at once through the forward, four rounds (two warm-up)."""
    before = resident_bytes(pid)
    after_rounds = []
    holding = 0
    for _ in range(ROUNDS):
        held = [Client(str(remote)) for _ in range(count)]
        for each in held:
            each.get(NAME)
        holding = max(holding, resident_bytes(pid))
        for each in held:
            each.close()
        time.sleep(0.5)  # the daemon sees each close through ssh
        after_rounds.append(resident_bytes(pid))
    growth = after_rounds[-1] - after_rounds[WARM_UP_ROUNDS - 1]
    return Row(
        f"{count} forwarded connections at once (ssh -R), {ROUNDS} rounds",
        f"RSS {megabytes(before)} before, {megabytes(holding)} holding them, "
        f"{megabytes(after_rounds[-1])} after "
        f"({growth / 2**20:+.1f} MB since round {WARM_UP_ROUNDS})",
        goal="no growth after warm-up (< 1 MB)",
        met=growth < GROWTH_TOLERANCE,
    )


@contextlib.contextmanager
def _forward(env: Environment, view: Path) -> Iterator[Path | str]:
    """The remote end of `ssh -N -R` of ``view``, or why there is none."""
    if os.geteuid() != 0:
        yield "needs root (a throwaway remote user for sshd)"
        return
    if shutil.which("sshd") is None or shutil.which("ssh") is None:
        yield "OpenSSH is not installed (scripts/install-system-deps)"
        return
    from tests.support.sshd import HOST, RemoteBox

    root = Path(tempfile.mkdtemp(prefix="cdb", dir="/tmp"))
    try:
        with RemoteBox(root) as box:
            folder = box.remote_socket.parent
            box.run(f"mkdir -m 700 -p {folder}")
            args = ["-N", "-o", "ExitOnForwardFailure=yes"]
            args += ["-R", f"{box.remote_socket}:{view}", HOST]
            proc = subprocess.Popen(["ssh", *box.ssh_args(), *args], stdin=subprocess.DEVNULL)
            env.adopt(proc)
            deadline = time.monotonic() + 20
            while not _listening(box.remote_socket):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the ssh forward did not come up")
                time.sleep(0.05)
            previous = os.environ.get("CREDD_DAEMON_UID")
            os.environ["CREDD_DAEMON_UID"] = str(box.uid)
            try:
                yield box.remote_socket
            finally:
                if previous is None:
                    del os.environ["CREDD_DAEMON_UID"]
                else:
                    os.environ["CREDD_DAEMON_UID"] = previous
                proc.terminate()
                proc.wait(10)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
