"""A real `systemd --user` login session for a throwaway user: root only.

    with UserSession() as session:
        session.credd("service", "install")
        session.systemctl("show", "-p", "StatusText", "credd.service")

What logind and PID 1 do at login is done by hand (FIELD-NOTES.md, "A real systemd user
manager"): a user, a delegated cgroup in each hierarchy, a runtime folder, then
`systemd --user` as that user; D-Bus and gnome-keyring are activated by the session, and a
login keyring is unlocked as PAM would. The manager runs in a private mount namespace: the
mounts it needs (`/run` as a mount point, `/run/systemd/system` that says "booted with
systemd", `/run/systemd/unit-root`, the tmpfs `/run/user/UID`) exist only there, so the
other programs on the machine never see a systemd that is not PID 1. Every command of the
user enters that namespace (`nsenter`) and drops to the user (`setpriv`).

The user runs its own copy of credd: the system interpreter (the test's may live under
/root) and a venv holding credd and its runtime dependencies, readable by everyone, copied
from the test's environment (no index needed, works from any checkout).

Undone on exit, failure or not: the manager (by pid), every process of the user, the
cgroups, the user and its home, the copies.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from types import TracebackType

import pytest
from packaging.requirements import Requirement

from tests.support.requirements import require_path, require_program

PREFIX = "cdsys"
FIRST_UID = 61000
LAST_UID = 61099
SYSTEMD = Path("/lib/systemd/systemd")
CGROUP = Path("/sys/fs/cgroup")
SECRETS_NAME = "org.freedesktop.secrets"
KEYRING_PASSWORD = "cdsys-login"  # the throwaway user's login keyring
PROJECT_PACKAGES = ("credd", "credd_client")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("a systemd user session needs root (CI runs as root)")


def _systemd_is_pid1() -> bool:
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def _admin_program(name: str) -> str:
    """useradd and userdel live in sbin, which a test's PATH may leave out."""
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    return found or require_program(name)


def _user_admin(command: list[str]) -> subprocess.CompletedProcess[str]:
    """useradd or userdel, again while another process holds the lock of /etc/passwd or
    /etc/group ("cannot lock ...; try again later")."""
    for _ in range(50):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode == 0 or "lock" not in result.stderr:
            return result
        time.sleep(0.2)
    return result


def _free_user() -> tuple[str, int]:
    for uid in range(FIRST_UID + 1, LAST_UID + 1):
        name = f"{PREFIX}{uid - FIRST_UID}"
        try:
            pwd.getpwnam(name)
            continue
        except KeyError:
            pass
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            return name, uid
    raise RuntimeError(f"no free uid in {FIRST_UID + 1}-{LAST_UID}")


def _cgroup_parents() -> list[Path]:
    """Where the user's delegated cgroup goes: unified only, or hybrid (v1 name=systemd too)."""
    if (CGROUP / "cgroup.controllers").exists():
        return [CGROUP]
    return [path for path in (CGROUP / "unified", CGROUP / "systemd") if path.is_dir()]


def _world_usable(path: Path) -> bool:
    """Everyone may run ``path`` and enter every folder above it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if not mode & stat.S_IXOTH or not mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def system_python() -> str:
    """An interpreter of this Python version that any user can run (the venv's may be /root's)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))]
    for folder in ("/usr/bin", "/usr/local/bin"):
        candidates.append(Path(folder) / f"python{version}")
    for candidate in candidates:
        if candidate.name.startswith(f"python{version}") and _world_usable(candidate):
            return str(candidate)
    pytest.fail(f"no python{version} that another user may run (looked at {candidates})")


def _runtime_distributions() -> list[metadata.Distribution]:
    """credd (with its `fast` extra) and everything it needs at run time, once each."""
    found: dict[str, metadata.Distribution] = {}
    pending: list[tuple[str, frozenset[str]]] = [("credd", frozenset({"fast"}))]
    while pending:
        name, extras = pending.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        distribution = metadata.distribution(name)
        found[key] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in (*extras, "")):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return list(found.values())


def install_app(dest: Path, python: str) -> Path:
    """A venv at ``dest`` with credd and its runtime dependencies; its `bin/credd`."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(dest)], check=True, timeout=120)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(dest), "platbase": str(dest)}))
    for distribution in _runtime_distributions():
        for item in distribution.files or []:
            source = Path(str(distribution.locate_file(item)))
            skipped = item.parts[0] in ("..", "") or "__pycache__" in item.parts
            if skipped or item.name.startswith("__editable__") or item.suffix == ".pth":
                continue  # scripts outside site-packages, caches, the editable installs' paths
            target = site / item
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    for package in PROJECT_PACKAGES:  # installed editable: the package folders themselves
        module = __import__(package)
        shutil.copytree(
            Path(module.__file__).parent,
            site / package,
            ignore=shutil.ignore_patterns("__pycache__"),
            dirs_exist_ok=True,  # an egg-info's file list may have brought some already
        )
    script = dest / "bin" / "credd"
    script.write_text(
        f"#!{dest}/bin/python\nimport sys\nfrom credd.cli import main\nsys.exit(main())\n"
    )
    subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True, timeout=60)
    script.chmod(0o755)
    return script


class UserSession:
    """A throwaway user logged in: its `systemd --user`, session bus and unlocked keyring."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.name = ""
        self.uid = -1
        self.home = Path()
        self.runtime_dir = Path()
        self.app = Path()
        self.manager: subprocess.Popen[bytes] | None = None
        self.root = Path()
        self._user_made = False
        self._cgroups: list[Path] = []
        self._extra_dirs: list[Path] = []
        self._useradd = self._userdel = ""

    # --- the user's environment -----------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "SHELL": "/bin/sh",
            "LANG": "C.UTF-8",
            "PATH": f"{self.app.parent}:/usr/bin:/bin",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.runtime_dir}/bus",
        }

    def command(self, *argv: str, env: Mapping[str, str] | None = None) -> list[str]:
        """``argv`` as the user, inside the session's mount namespace (the only one where
        /run/user/UID, and so the socket, exists)."""
        assert self.manager is not None
        variables = {**self.env, **(env or {})}
        return [
            "nsenter",
            f"--target={self.manager.pid}",
            "--mount",
            "--",
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.uid}",
            "--init-groups",
            "env",
            "-i",
            *(f"{key}={value}" for key, value in variables.items()),
            *argv,
        ]

    def run(
        self,
        *argv: str,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*argv, env=env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
            check=False,
            cwd="/",
        )

    def credd(
        self, *args: str, input: str | None = None, program: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run(program or str(self.app), *args, input=input)

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--user", "--no-pager", *args)

    def show(self, unit: str, prop: str) -> str:
        result = self.systemctl("show", "-p", prop, "--value", unit)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def manager_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "manager.log").read_text(errors="replace")
        return ""

    # --- up and down ------------------------------------------------------------------------

    def __enter__(self) -> UserSession:
        require_root()
        if _systemd_is_pid1():
            # A hosted CI runner: its own manager owns /run/systemd and logind owns the
            # users' sessions, so the hand-made session below would fight them.
            pytest.skip(
                "systemd is PID 1 here (a hosted CI runner): the throwaway user's hand-made "
                "systemd session runs only where no system manager does"
            )
        for program in ("setpriv", "nsenter", "unshare", "systemctl"):
            require_program(program)
        self._useradd = _admin_program("useradd")
        self._userdel = _admin_program("userdel")
        for program in ("gnome-keyring-daemon", "dbus-daemon", "dbus-send", "secret-tool"):
            require_program(program)
        require_path(SYSTEMD, "systemd (the user manager, /lib/systemd/systemd)")
        require_path(
            Path("/usr/lib/systemd/user/dbus.socket"),
            "the session bus's user units (Debian package dbus-user-session)",
        )
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))
        self.name, self.uid = _free_user()
        made = _user_admin(
            [self._useradd, "--create-home", "--user-group", "--uid", str(self.uid),
             "--shell", "/bin/sh", self.name],
        )  # fmt: skip
        self._user_made = made.returncode == 0
        assert self._user_made, f"useradd {self.name}: {made.stderr.strip()}"
        self.home = Path(pwd.getpwnam(self.name).pw_dir)
        self.runtime_dir = Path(f"/run/user/{self.uid}")
        # Installed as a user's tool would be (pipx: under the home); root-owned, readable.
        self.app = install_app(self.home / "credd-venv", system_python())

        procs = []
        for parent in _cgroup_parents():
            user_slice = parent / "user.slice"
            slice_dir = user_slice / f"user-{self.uid}.slice"
            service = slice_dir / f"user@{self.uid}.service"
            if not user_slice.exists():  # made here: removed afterwards too
                user_slice.mkdir()
                self._cgroups.append(user_slice)
            service.mkdir(parents=True)
            self._cgroups.insert(0, slice_dir)
            for path in (service, *service.iterdir()):
                os.chown(path, self.uid, self.uid)
            procs.append(str(service / "cgroup.procs"))
        if not procs:
            pytest.fail(f"no cgroup hierarchy under {CGROUP} to delegate")

        env = {key: value for key, value in self.env.items() if key != "PATH"}
        env["PATH"] = "/usr/bin:/bin"
        # Root until the exec: the namespace's mounts, the cgroups, then the manager as the user.
        script = "\n".join(
            [
                "set -e",
                "mount -t tmpfs -o mode=0755 credd-run /run",
                "mkdir -p /run/systemd/system /run/systemd/unit-root /run/user/$UID_",
                "mount -t tmpfs -o mode=0700,uid=$UID_,gid=$UID_ credd-user /run/user/$UID_",
                *(f"echo $$ > {path}" for path in procs),
                "exec setpriv --reuid=$UID_ --regid=$UID_ --init-groups env -i "
                + " ".join(f"{key}={value}" for key, value in env.items())
                + f" {SYSTEMD} --user",
            ]
        )
        log = (self.root / "manager.log").open("wb")
        try:
            self.manager = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script],
                env={"UID_": str(self.uid), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd="/",
            )
        finally:
            log.close()
        self._wait_running()
        self._unlock_keyring()

    def _wait_running(self) -> None:
        deadline = time.monotonic() + self.timeout
        state = ""
        while time.monotonic() < deadline:
            assert self.manager is not None
            if self.manager.poll() is not None:
                code = self.manager.returncode
                pytest.fail(f"systemd --user exited {code}:\n{self.manager_log()}")
            state = self.systemctl("is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                assert state == "running", self.systemctl("--failed").stdout
                return
            time.sleep(0.1)
        pytest.fail(f"systemd --user is {state!r}, not running:\n{self.manager_log()}")

    def _unlock_keyring(self) -> None:
        """As pam_gnome_keyring does at login: the login keyring unlocked with a password."""
        started = self.run(
            "gnome-keyring-daemon", "--replace", "--unlock", "--components=secrets",
            "--daemonize", input=KEYRING_PASSWORD,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.has_secret_service():
                return
            time.sleep(0.1)
        pytest.fail("gnome-keyring-daemon never took org.freedesktop.secrets")

    def has_secret_service(self) -> bool:
        answer = self.run(
            "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
            f"string:{SECRETS_NAME}",
        )  # fmt: skip
        return "boolean true" in answer.stdout

    def close(self) -> None:
        """Undo everything, each step even when one before it failed."""
        errors: list[str] = []
        self._stop_manager()
        if self.uid >= 0 and not _kill_all_of(self.uid):
            errors.append(f"processes of uid {self.uid} survive: {list(_processes_of(self.uid))}")
        for slice_dir in self._cgroups:
            if not _remove_cgroup(slice_dir):
                errors.append(f"cgroup {slice_dir} could not be removed")
        if self._user_made:
            removed = _user_admin([self._userdel, "--remove", "--force", self.name])
            if removed.returncode not in (0, 12):  # 12: the home was already gone
                errors.append(f"userdel {self.name}: {removed.stderr.strip()}")
            self._user_made = False
        for folder in (*self._extra_dirs, self.root):
            if folder != Path():
                shutil.rmtree(folder, ignore_errors=True)
        if errors:
            raise RuntimeError("; ".join(errors))

    def _stop_manager(self) -> None:
        if self.manager is None or self.manager.poll() is not None:
            return
        self.manager.send_signal(signal.SIGTERM)  # the manager stops its units, then exits
        try:
            self.manager.wait(30)
        except subprocess.TimeoutExpired:
            self.manager.kill()
            self.manager.wait(10)

    def scratch(self, prefix: str) -> Path:
        """A root-owned folder, readable by everyone, removed with the session."""
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        folder.chmod(0o755)
        self._extra_dirs.append(folder)
        return folder


def _processes_of(uid: int) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            zombie = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
            if entry.stat().st_uid == uid and not zombie:
                yield int(entry.name)


def _kill_all_of(uid: int) -> bool:
    """SIGKILL every process of ``uid``, by pid, until none is left; False if some survive."""
    for _ in range(50):
        left = list(_processes_of(uid))
        if not left:
            return True
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    return False


def _remove_cgroup(folder: Path) -> bool:
    """A cgroup and the ones below it, deepest first (a cgroup is removed with rmdir)."""
    for _ in range(50):
        if not folder.exists():
            return True
        try:
            for path, _dirs, _files in sorted(os.walk(folder), key=lambda item: -len(item[0])):
                os.rmdir(path)
        except OSError:
            time.sleep(0.1)  # a killed process leaves its cgroup a moment later
    return not folder.exists()
