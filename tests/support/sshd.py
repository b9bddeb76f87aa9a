"""A real OpenSSH server on 127.0.0.1 and a throwaway local user as the "remote" account.

    with RemoteBox(root) as box:          # root: a short folder under /tmp (0755)
        box.ssh_config                    # -F this: `Host devbox`, key, known host, port
        box.run("credd get NAME")         # a command as the remote user, over ssh
        box.use_login_shell(SCRIPT)       # the remote user's shell (its environment, say)

The user (other_user.ThrowawayUser, named ``cdssh...``) gets a home and an ``XDG_RUNTIME_DIR``
of its own under ``root`` (sshd's ``SetEnv``: no PAM here), a PATH with credd's client (the
`credd` command and the git helper, run by the system's Python from this checkout: the
tests' venv lives under /root), and a git config naming that helper. sshd runs with a
throwaway host key, ``StreamLocalBindUnlink yes`` and ``UsePAM no``. Everything is undone on
exit: sshd by pid, the user, the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import credd
import credd_client
from tests.support.other_user import ThrowawayUser
from tests.support.requirements import require_program

SYSTEM_PYTHON = "/usr/bin/python3"
HOST = "devbox"

_WRAPPER = (
    "#!/bin/sh\n"
    "code='import sys; sys.path[:0] = {path}; from {module} import main; sys.exit(main())'\n"
    'exec {python} -I -c "$code" "$@"\n'
)


class RemoteBox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._user: ThrowawayUser | None = None
        self.name = ""
        self.uid = -1
        self.home = root / "home"
        self.runtime = root / "run"
        self.bin = root / "bin"
        self.ssh_config = root / "ssh_config"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._made_run_sshd = False

    # --- what tests use -----------------------------------------------------------------

    @property
    def remote_socket(self) -> Path:
        """Where the remote user's clients look by default."""
        return self.runtime / "credd" / "credd.sock"

    def ssh_args(self) -> list[str]:
        return ["-F", str(self.ssh_config)]

    def run(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``command`` in the remote user's shell, over ssh (no forward)."""
        return subprocess.run(
            ["ssh", *self.ssh_args(), HOST, command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def use_login_shell(self, script: str) -> None:
        """Make ``script`` (a whole shell script) the remote user's login shell: the shell
        sshd runs every command with, as a remote machine's own set-up would."""
        shell = self.bin / "login-shell"
        shell.write_text(script)
        shell.chmod(0o755)
        subprocess.run(["usermod", "-s", str(shell), self.name], check=True, capture_output=True)

    # --- setting up -----------------------------------------------------------------------

    def __enter__(self) -> RemoteBox:
        for program in ("sshd", "ssh", "ssh-keygen"):
            require_program(program)
        try:
            self._make_user()
            self._make_client_tools()
            self._start_sshd()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _make_user(self) -> None:
        self.root.chmod(0o755)
        self._user = ThrowawayUser(self.home, prefix="cdssh")
        self._user.__enter__()
        self.name, self.uid = self._user.name, self._user.uid
        self.runtime.mkdir(mode=0o700)
        self._user.own(self.runtime)

    def _make_client_tools(self) -> None:
        self.bin.mkdir(mode=0o755)
        path = [str(Path(credd_client.__file__).parents[1]), str(Path(credd.__file__).parents[1])]
        for command, module in (
            ("credd", "credd.cli"),
            ("git-credential-credd", "credd_client.git_helper"),
            ("docker-credential-credd", "credd_client.docker_helper"),
        ):
            script = self.bin / command
            script.write_text(
                _WRAPPER.format(python=SYSTEM_PYTHON, path=json.dumps(path), module=module)
            )
            script.chmod(0o755)
        gitconfig = self.home / ".gitconfig"
        gitconfig.write_text(
            "[credential]\n"
            f"\thelper = {self.bin / 'git-credential-credd'}\n"
            "[user]\n\tname = Remote\n\temail = remote@example.invalid\n"
            "[init]\n\tdefaultBranch = main\n"
        )
        os.chown(gitconfig, self.uid, self.uid)

    def _start_sshd(self) -> None:
        keys = self.root / "keys"
        keys.mkdir(mode=0o700)
        for key in ("host", "user"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", str(keys / key)],
                check=True,
                capture_output=True,
            )
        authorized = self.root / "authorized_keys"
        authorized.write_text((keys / "user.pub").read_text())
        authorized.chmod(0o644)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
            f"AuthorizedKeysFile {authorized}\nUsePAM no\nStrictModes no\n"
            f"PidFile {self.root / 'sshd.pid'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nStreamLocalBindUnlink yes\n"
            f"AllowUsers {self.name}\n"
            f"SetEnv XDG_RUNTIME_DIR={self.runtime} PATH={self.bin}:/usr/bin:/bin\n"
        )
        known = self.root / "known_hosts"
        host_key = (keys / "host.pub").read_text().split()
        known.write_text(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        self.ssh_config.write_text(
            f"Host {HOST}\n  HostName 127.0.0.1\n  Port {self.port}\n  User {self.name}\n"
            f"  IdentityFile {keys / 'user'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
            "  LogLevel ERROR\n"
        )
        if not Path("/run/sshd").exists():  # sshd's privilege separation folder
            Path("/run/sshd").mkdir(mode=0o755)
            self._made_run_sshd = True
        log = open(self.root / "sshd.log", "wb")  # noqa: SIM115 - kept by the process
        with log:
            self._proc = subprocess.Popen(
                [require_program("sshd"), "-D", "-e", "-f", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 20
        while self.run("true", timeout=20).returncode != 0:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not come up:\n{self.log_text()}")
            time.sleep(0.1)

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "sshd.log").read_text(errors="replace")
        return ""

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
        if self._user is not None:
            self._user.__exit__(None, None, None)
        if self._made_run_sshd:
            with contextlib.suppress(OSError):
                Path("/run/sshd").rmdir()
