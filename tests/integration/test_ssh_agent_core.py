"""The core-file canary of issue 20: the daemon holds SSH keys, has signed with them, and is
crashed by a signal that writes a core file; no core is written and no file the run leaves
holds a private byte. The kernel's refusals that make it so are shown too: the daemon is not
dumpable, its /proc memory, environment and maps are closed to another process of the same
user, and a debugger (gcore) cannot attach. The command lines and environments of the daemon
and of `ssh-add` hold no private byte.

A control process with an unlimited core limit, crashed the same way, shows that a core would
be written, where `/proc/sys/kernel/core_pattern` is a plain file name (written in the
crashing process's folder, here the daemon's CREDD_HOME) and the core limit can be raised; a
pattern that pipes cores to a system handler is left alone, and the refusals carry the proof
there. The daemon sets its own core limit to zero; with CAP_SYS_RESOURCE the test raises it
again (prlimit), so that only the non-dumpable flag stands between the crash and a core file.
Without it (a container that withholds it from root, as this project's own machines do) that
limit stays, and the flag is shown by the refusals.
"""

from __future__ import annotations

import base64
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from credd_client._paths import agent_socket_path
from tests.support.capless import capless, read_as_capless
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

PASSPHRASE = "core canary passphrase"


def key_file(path: Path, passphrase: str | None = None) -> list[bytes]:
    """An ed25519 key in OpenSSH's format at ``path`` (and ``.pub``), encrypted under
    ``passphrase`` if given; its private half in every form it could leak in: raw, hex,
    base64, and the lines of its unencrypted file that hold it."""
    key = ed25519.Ed25519PrivateKey.generate()
    plain = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    if passphrase is None:
        path.write_bytes(plain)
    else:
        encryption = serialization.BestAvailableEncryption(passphrase.encode())
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
            )
        )
    path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path.with_name(path.name + ".pub").write_bytes(public + b" core@test\n")
    raw = key.private_bytes_raw()
    return [raw, raw.hex().encode(), base64.b64encode(raw), *plain.splitlines()[3:-2]]


CAP_SYS_RESOURCE = 24  # <linux/capability.h>: raising a hard limit needs it


def has_capability(bit: int) -> bool:
    """Whether this process holds capability ``bit`` (its effective set)."""
    status = Path("/proc/self/status").read_text()
    effective = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    return bool(int(effective.split()[1], 16) >> bit & 1)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def assert_no_private_bytes(forms: list[bytes], data: bytes, where: str) -> None:
    found = [form[:8] for form in forms if form in data]
    assert not found, f"private key bytes in {where}"


def ssh_add_seen_from_proc(env: dict[str, str], key: Path, folder: Path) -> bytes:
    """`ssh-add KEY` for a passphrase-protected key, its passphrase given by an askpass program
    that waits until this test has read ssh-add's /proc cmdline and environ (returned)."""
    pid_file, release = folder / "ssh-add.pid", folder / "release"
    os.mkfifo(release)
    askpass = folder / "askpass"
    askpass.write_text(
        f"#!/bin/sh\necho $PPID > {pid_file}\ncat {release} >/dev/null\necho '{PASSPHRASE}'\n"
    )
    askpass.chmod(0o700)
    asking = {**env, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force"}
    with subprocess.Popen(
        ["ssh-add", str(key)],
        env=asking,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as adding:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert adding.poll() is None, adding.communicate()[0]
            assert time.monotonic() < deadline, "ssh-add did not ask for the passphrase"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert pid == adding.pid
        seen = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
        with open(release, "w") as writer:
            writer.write("go\n")
        output = adding.communicate(timeout=30)[0]
        assert adding.returncode == 0, output
    return seen


def crash_writes_core(folder: Path, sig: signal.Signals) -> tuple[bool, list[Path]]:
    """The control: a plain process in ``folder`` with an unlimited core limit, killed by
    ``sig``; whether the kernel says it dumped core, and the core files it left."""
    folder.mkdir()
    control = subprocess.Popen(["prlimit", "--core=unlimited:unlimited", "sleep", "60"], cwd=folder)
    deadline = time.monotonic() + 10
    while not Path(f"/proc/{control.pid}/cmdline").read_bytes().startswith(b"sleep"):
        assert time.monotonic() < deadline, "the control process did not start"
        time.sleep(0.02)
    os.kill(control.pid, sig)
    _, status = os.waitpid(control.pid, 0)
    control.returncode = -sig
    return os.WCOREDUMP(status), sorted(folder.glob("core*"))


def test_a_crashed_daemon_leaves_no_core_and_no_private_byte(
    headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    if os.geteuid() != 0:
        pytest.fail(
            "this test raises the daemon's hard core limit with prlimit and drops capabilities "
            "with setpriv: it needs root (CI runs as root)"
        )
    for program in ("ssh-add", "ssh-keygen", "prlimit", "gcore"):
        require_program(program)
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    plain_pattern = not pattern.startswith("|") and "/" not in pattern
    # A core needs a core limit above zero: a hard limit of zero is raised only with
    # CAP_SYS_RESOURCE.
    cores_allowed = has_capability(CAP_SYS_RESOURCE) or (
        resource.getrlimit(resource.RLIMIT_CORE)[1] == resource.RLIM_INFINITY
    )
    if plain_pattern and cores_allowed:
        dumped, cores = crash_writes_core(short_tmp / "control", signal.SIGSEGV)
        assert dumped, "the control process did not dump core: the canary would prove nothing"
        assert cores, f"core_pattern {pattern!r}: the control's core is not in its folder"

    env = dict(headless_credd_env)
    env["SSH_AUTH_SOCK"] = agent_socket_path(env)
    ssh = Path(env["HOME"]) / ".ssh"
    ssh.mkdir(mode=0o700)
    imported = key_file(ssh / "id_ed25519")
    added = key_file(short_tmp / "id_added", PASSPHRASE)
    forms = imported + added
    original = (ssh / "id_ed25519").read_bytes()
    assert all(form in original for form in imported[3:])  # the search would find the file
    daemon = DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env)
    daemon.start()
    try:
        run(env, "credd", "ssh-key", "import", "--remove-source")
        assert not (ssh / "id_ed25519").exists()
        seen = ssh_add_seen_from_proc(env, short_tmp / "id_added", short_tmp)
        assert_no_private_bytes(forms, seen, "ssh-add's cmdline and environ")
        message = short_tmp / "message"
        message.write_text("signed before the crash\n")
        for public in (ssh / "id_ed25519.pub", short_tmp / "id_added.pub"):
            run(env, "ssh-keygen", "-Y", "sign", "-n", "file", "-f", str(public), str(message))
            (short_tmp / "message.sig").unlink()
        assert len(run(env, "ssh-add", "-l").stdout.splitlines()) == 2

        proc = Path(f"/proc/{daemon.pid}")
        for part in ("cmdline", "environ"):
            assert_no_private_bytes(forms, (proc / part).read_bytes(), f"the daemon's {part}")
        # What the kernel refuses a same-uid process without capabilities.
        for part in ("mem", "environ", "maps"):
            read = read_as_capless(str(proc / part))
            assert read.returncode != 0
            assert "Permission denied" in read.stderr
        attach = subprocess.run(
            capless("gcore", "-o", str(short_tmp / "gcore"), str(daemon.pid)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert attach.returncode != 0
        assert "ptrace: Operation not permitted" in attach.stdout + attach.stderr
        assert not list(short_tmp.glob("gcore*"))

        if has_capability(CAP_SYS_RESOURCE):
            # Only the non-dumpable flag is left between the crash and a core file: the daemon
            # set its core limit to zero, root raises it again.
            subprocess.run(
                ["prlimit", f"--pid={daemon.pid}", "--core=unlimited:unlimited"],
                check=True,
                capture_output=True,
            )
            limits = (proc / "limits").read_text()
            assert "Max core file size        unlimited            unlimited" in limits
        # Else (a container withholding CAP_SYS_RESOURCE even from root) the daemon's zero
        # hard limit stays: the crash shows that limit, the refusals above show the flag.
        assert daemon.proc is not None
        os.kill(daemon.pid, signal.SIGSEGV)
        _, exit_status = os.waitpid(daemon.pid, 0)
        daemon.proc.returncode = -signal.SIGSEGV
        daemon.stopped = True
        assert os.WIFSIGNALED(exit_status)
        assert os.WTERMSIG(exit_status) == signal.SIGSEGV
        assert not os.WCOREDUMP(exit_status)  # the kernel wrote no core
    finally:
        if daemon.returncode is None:
            daemon.kill()
    control = short_tmp / "control"
    leftovers = [path for path in short_tmp.rglob("*") if path.is_file() and path.parent != control]
    assert not [path for path in leftovers if path.name.startswith("core")]
    assert Path(env["CREDD_HOME"], "store.credd") in leftovers
    for path in leftovers:
        if path == short_tmp / "id_added":
            continue  # the encrypted key file ssh-add was given
        assert_no_private_bytes(forms, path.read_bytes(), str(path))
