"""A real OpenSSH server on 127.0.0.1 that lets one user in with a key, nothing else.

    with LoginSshd(folder) as sshd:             # folder: short, under /tmp
        sshd.authorize("ssh-ed25519 AAAA...")   # the keys it accepts (replaces the list)
        subprocess.run([*sshd.ssh(agent_socket), "true"])

The user is this very one unless ``user`` names another (a `ThrowawayUser`: sshd reads
authorized_keys as that user, so ``folder`` must let it in). No user is made here: the tests
run as root, and sshd admits root with `PermitRootLogin prohibit-password` (keys only; root's
password field must not be `!`). The client side
uses only the agent it is given (`IdentityFile=none`, `BatchMode=yes`) and knows the host
key. sshd is stopped by pid on exit.
"""

from __future__ import annotations

import contextlib
import getpass
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.support.requirements import require_program


class LoginSshd:
    def __init__(self, folder: Path, user: str | None = None) -> None:
        self.folder = folder
        self.port = 0
        self.user = user or getpass.getuser()
        self.authorized_keys = folder / "authorized_keys"
        self.known_hosts = folder / "known_hosts"
        self.host_key = folder / "host_key"
        self._proc: subprocess.Popen[bytes] | None = None

    def authorize(self, *public_lines: str) -> None:
        self.authorized_keys.write_text("".join(line.strip() + "\n" for line in public_lines))
        self.authorized_keys.chmod(0o644)  # sshd reads it as the user logging in

    def ssh(self, agent_socket: Path | str) -> list[str]:
        """The ssh command line (without a remote command) that uses only ``agent_socket``."""
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentityFile=none",
            "-o",
            f"IdentityAgent={agent_socket}",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "LogLevel=ERROR",
            "-p",
            str(self.port),
            f"{self.user}@127.0.0.1",
        ]

    def git_ssh_command(self, agent_socket: Path | str) -> str:
        """GIT_SSH_COMMAND for the same (git adds the host and the command)."""
        return " ".join(self.ssh(agent_socket)[:-3])

    @property
    def url_prefix(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    def host_fingerprint(self) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-l", "-f", f"{self.host_key}.pub"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()[1]

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "sshd.log").read_text(errors="replace")
        return ""

    def __enter__(self) -> LoginSshd:
        sshd = require_program("sshd")
        require_program("ssh-keygen")
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)],
            check=True,
            capture_output=True,
        )
        self.authorize()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = self.folder / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\nUsePAM no\nStrictModes no\n"
            f"PidFile {self.folder / 'sshd.pid'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            f"AllowUsers {self.user}\n"
        )
        host = (self.host_key.with_suffix(".pub")).read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host[0]} {host[1]}\n")
        # sshd's privilege separation folder; left in place after (another sshd may use it).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with open(self.folder / "sshd.log", "wb") as log:
            self._proc = subprocess.Popen(
                [sshd, "-D", "-e", "-f", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 20
        while not self._listening():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"sshd did not come up:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
