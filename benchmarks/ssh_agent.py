"""The SSH agent: sign requests on the agent socket, ed25519 and RSA-3072, and a whole
`ssh ... true` login, each against OpenSSH's own `ssh-agent` holding the same key, same run.

The signing client here speaks the protocol on a persistent connection (what ssh does within
one login): a SIGN_REQUEST for 32 bytes of data, timed to its SIGN_RESPONSE. The login runs
the real `ssh` against a real sshd on 127.0.0.1 (tests/support/login_sshd.py, root only), the
two agents alternating, so drift on a busy machine falls on both.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

from credd_client._paths import agent_socket_path

from .environment import Environment
from .latency import timed
from .stats import Sample, latency, seconds
from .table import Row, ratio

SIGN_REQUEST, SIGN_RESPONSE = 13, 14
RSA_SHA2_512 = 4


def run(env: Environment) -> list[Row]:
    credd_env = env.credd_env()
    env.daemon(credd_env)
    credd_agent = agent_socket_path(credd_env)
    rows = []
    with env.folder("ssh-keys") as folder:
        keys = {
            "ed25519": _key(folder, "id_ed25519", "ed25519", []),
            "RSA-3072": _key(folder, "id_rsa", "rsa", ["-b", "3072"]),
        }
        subprocess.run(
            ["credd", "ssh-key", "import", *map(str, keys.values())],
            env=credd_env,
            check=True,
            capture_output=True,
        )
        openssh_agent = str(folder / "openssh-agent.sock")
        env.child(["ssh-agent", "-D", "-a", openssh_agent], env.env)
        _wait_for(Path(openssh_agent))
        subprocess.run(
            ["ssh-add", *map(str, keys.values())],
            env={**env.env, "SSH_AUTH_SOCK": openssh_agent},
            check=True,
            capture_output=True,
        )
        count = max(50, env.sizes.requests // 10)
        for label, key in keys.items():
            flags = RSA_SHA2_512 if label.startswith("RSA") else 0
            blob = _public_blob(key)
            credd = _signs(credd_agent, blob, flags, count)
            openssh = _signs(openssh_agent, blob, flags, count)
            goal = "≤ 2x OpenSSH's ssh-agent" if label == "ed25519" else ""
            rows.append(
                Row(
                    f"SSH sign, {label}, through the agent socket (persistent connection)",
                    latency(credd),
                    "ssh-agent: " + latency(openssh),
                    ratio(credd.p50, openssh.p50),
                    goal,
                    credd.p50 <= 2 * openssh.p50 if goal else None,
                )
            )
        rows.append(_logins(env, folder, keys["ed25519"], credd_agent, openssh_agent))
    return rows


def _key(folder: Path, name: str, kind: str, extra: list[str]) -> Path:
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def _public_blob(key: Path) -> bytes:
    return base64.b64decode(key.with_name(key.name + ".pub").read_text().split()[1])


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no agent socket at {path}")
        time.sleep(0.01)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _signs(path: str, blob: bytes, flags: int, count: int) -> Sample:
    payload = bytes([SIGN_REQUEST]) + _string(blob) + _string(os.urandom(32))
    request = _string(payload + struct.pack(">I", flags))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)

        def sign() -> None:
            sock.sendall(request)
            head = _read(sock, 4)
            answer = _read(sock, struct.unpack(">I", head)[0])
            if answer[0] != SIGN_RESPONSE:
                raise RuntimeError(f"the agent at {path} refused to sign")

        timed(sign, max(10, count // 10))  # warm-up
        return timed(sign, count)


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the agent closed the connection")
        data += chunk
    return data


def _logins(env: Environment, folder: Path, key: Path, credd: str, openssh: str) -> Row:
    metric = "`ssh -o BatchMode=yes -p PORT 127.0.0.1 true`, whole wall clock"
    goal = "≤ 1.1x OpenSSH's ssh-agent"
    if os.geteuid() != 0:
        return Row.pending(metric, goal, "needs root (sshd logs in as this user)")
    from tests.support.login_sshd import LoginSshd

    sshd_folder = folder / "sshd"
    sshd_folder.mkdir(mode=0o700)
    times: dict[str, list[float]] = {credd: [], openssh: []}
    with LoginSshd(sshd_folder) as sshd:
        sshd.authorize(key.with_name(key.name + ".pub").read_text())
        for _ in range(max(3, env.sizes.trials)):
            for agent in (credd, openssh):
                started = time.perf_counter()
                subprocess.run([*sshd.ssh(agent), "true"], env=env.env, check=True)
                times[agent].append(time.perf_counter() - started)
    ours, theirs = Sample.of(times[credd]), Sample.of(times[openssh])
    return Row(
        metric,
        f"p50 {seconds(ours.p50)} (n={len(ours)})",
        f"ssh-agent: p50 {seconds(theirs.p50)}",
        ratio(ours.p50, theirs.p50),
        goal,
        ours.p50 <= 1.1 * theirs.p50,
    )
