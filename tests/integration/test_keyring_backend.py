"""The credd keyring backend through the real `keyring` command and library."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.keyring_items import lookup
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration

BACKEND = "credd_client.keyring_backend.CreddKeyring"


def keyring_cli(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    program = shutil.which("keyring", path=env["PATH"])
    assert program is not None, "the keyring command is installed with the daemon"
    return subprocess.run(
        [program, *args],
        env={**env, "PYTHON_KEYRING_BACKEND": BACKEND},
        input=input,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_keyring_set_get_del(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    service = "https://upload.pypi.org/legacy/"
    assert keyring_cli(env, "set", service, "__token__", input="pypi-AgEI\n").returncode == 0
    assert keyring_cli(env, "set", service, "other@user", input="second\n").returncode == 0
    got = keyring_cli(env, "get", service, "__token__")
    assert (got.returncode, got.stdout) == (0, "pypi-AgEI\n")
    assert keyring_cli(env, "get", service, "other@user").stdout == "second\n"

    listing = json.loads(credd(env, "list", "--json").stdout)["credentials"]
    assert sorted((c["name"], c["username"], c["labels"]["service"]) for c in listing) == [
        (f"keyring:__token__@{service}", "__token__", service),
        (f"keyring:other%40user@{service}", "other@user", service),
    ]

    assert keyring_cli(env, "del", service, "other@user").returncode == 0
    missing = keyring_cli(env, "get", service, "other@user")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert keyring_cli(env, "del", service, "other@user").returncode != 0


def test_get_credential_without_a_username_as_pip_asks(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = {**headless_credd_env, "PYTHON_KEYRING_BACKEND": BACKEND}
    script = (
        "import keyring, sys\n"
        "keyring.set_password('https://pypi.example/simple/', 'alice', 'pw-1')\n"
        "c = keyring.get_credential('https://pypi.example/simple/', None)\n"
        "print(type(keyring.get_keyring()).__name__, c.username, c.password)\n"
        "print(keyring.get_credential('https://nothing.example/', None))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["CreddKeyring alice pw-1", "None"]


def test_never_picked_by_surprise(headless_credd_env: dict[str, str]) -> None:
    """Installed but not selected: keyring's own choice and its chainer leave it out."""
    script = (
        "import keyring\n"
        "from keyring.backends import chainer\n"
        "from credd_client.keyring_backend import CreddKeyring\n"
        "from keyring.backend import get_all_keyring\n"
        "assert any(isinstance(k, CreddKeyring) for k in get_all_keyring())\n"
        "assert not isinstance(keyring.get_keyring(), CreddKeyring)\n"
        "assert not any(isinstance(k, CreddKeyring) for k in chainer.ChainerBackend.backends)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=headless_credd_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


def test_no_daemon_is_a_keyring_error(headless_credd_env: dict[str, str]) -> None:
    result = keyring_cli(headless_credd_env, "get", "svc", "user")
    assert result.returncode != 0
    assert "credd serve" in result.stderr


def test_the_daemon_never_uses_it_for_its_own_key(
    credd_env: dict[str, str], secret_service: SecretService
) -> None:
    """Even with PYTHON_KEYRING_BACKEND naming the credd backend, the key goes to the
    Secret Service (the daemon would otherwise ask itself for its own key)."""
    env = {**credd_env, "PYTHON_KEYRING_BACKEND": BACKEND}

    with DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env):
        assert credd(env, "set", "x", input="v").returncode == 0
        status = json.loads(credd(env, "status", "--json").stdout)
    assert "SecretService" in status["key_backend"]["detail"]
    assert status["key_backend"]["insecure"] is False
    account = f"store-key:{Path(env['CREDD_HOME']) / 'store.credd'}"
    assert lookup(secret_service, "credd", account) is not None


def _wheel() -> bytes:
    """A minimal pure-Python wheel of the package `credd-probe` 0.1."""
    files = {
        "credd_probe/__init__.py": "",
        "credd_probe-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: credd-probe\n"
        "Version: 0.1\n",
        "credd_probe-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "credd_probe-0.1.dist-info/RECORD,,\n"
    files["credd_probe-0.1.dist-info/RECORD"] = record
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class _PrivateIndex(BaseHTTPRequestHandler):
    """A package index on loopback that wants basic auth (user `alice`, password `pw-idx`)."""

    expected = "Basic " + base64.b64encode(b"alice:pw-idx").decode()
    wheel = _wheel()
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.seen.append(f"401 {self.path}")
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.seen.append(f"200 {self.path}")
        name = "credd_probe-0.1-py3-none-any.whl"
        if self.path.rstrip("/") == "/simple/credd-probe":
            body = f'<html><body><a href="/files/{name}">{name}</a></body></html>'.encode()
            kind = "text/html"
        elif self.path == f"/files/{name}":
            body, kind = self.wheel, "application/octet-stream"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_pip_reads_a_private_index_password_through_credd(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PrivateIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        netloc = f"127.0.0.1:{server.server_address[1]}"
        # pip asks keyring for the index URL, then for its host:port, with no username.
        assert (
            keyring_cli(headless_credd_env, "set", netloc, "alice", input="pw-idx\n").returncode
            == 0
        )
        env = {
            **headless_credd_env,
            "PYTHON_KEYRING_BACKEND": BACKEND,
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INPUT": "1",
        }
        env = {k: v for k, v in env.items() if k.lower() not in {"http_proxy", "https_proxy"}}
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--no-deps",
            "--dest",
            str(short_tmp / "dl"),
            "--index-url",
            f"http://{netloc}/simple/",
            "credd-probe",
        ]
        if (
            "--keyring-provider"
            in subprocess.run(
                [sys.executable, "-m", "pip", "download", "--help"],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            ).stdout
        ):
            command[5:5] = ["--keyring-provider", "import"]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert (short_tmp / "dl" / "credd_probe-0.1-py3-none-any.whl").exists()
        assert "200 /simple/credd-probe/" in _PrivateIndex.seen
        assert "pw-idx" not in result.stdout + result.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
