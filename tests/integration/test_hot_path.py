"""`credd get NAME` on the hot path against a real daemon: the same answers as through the
full parser, and only the imports that path needs (no argparse, no JSON decoder)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credd_client import Client
from credd_client.cli import main
from credd_client.cli.parser import run as run_full_parser
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

CLIENT_SOURCE = Path(__file__).resolve().parents[2] / "client"
STORED = {
    "github.com": "plain",
    "git:https://example.test/team one": "with: colon / slash",
    "ünï ☃": "multi\nline\n",
}

# The only modules of the package a hot `credd get` loads; and what it must not load.
HOT_MODULES = {
    "credd_client",
    "credd_client._paths",
    "credd_client._transport",
    "credd_client.cli",
    "credd_client.cli.credentials",
    "credd_client.client",
    "credd_client.errors",
    "credd_client.models",
}
NOT_ON_THE_HOT_PATH = {"argparse", "json", "re", "typing", "shutil", "gettext", "credd"}

REPORT_IMPORTS = """
import sys
before = set(sys.modules)
from credd_client.cli import main
code = main(["get", sys.argv[1]])
sys.stdout.flush()
with open(sys.argv[2], "w") as out:
    out.write("\\n".join(sorted(set(sys.modules) - before)))
sys.exit(code)
"""


def outcome(run: object, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run(argv)  # type: ignore[operator]
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def stored(headless_daemon: DaemonProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDD_SOCKET", str(headless_daemon.socket))
    monkeypatch.setenv("CREDD_HOME", str(headless_daemon.home))
    monkeypatch.setenv("CREDD_AUTOSTART", "0")
    with Client(str(headless_daemon.socket)) as client:
        for name, secret in STORED.items():
            client.set_secret(name, secret)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.one_of(st.sampled_from(sorted(STORED)), st.text(max_size=20)))
def test_hot_path_and_full_parser_answer_alike(stored: None, name: str) -> None:
    argv = ["get", name]
    hot = outcome(main, argv)
    assert hot == outcome(run_full_parser, argv)
    if name in STORED and not name.startswith("-"):
        assert hot == (0, STORED[name] + "\n", "")


def test_hot_get_imports_only_what_it_needs(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], tmp_path: Path
) -> None:
    with Client(str(headless_daemon.socket)) as client:
        client.set_secret("hot", "value")
    report = tmp_path / "modules"
    env = {**headless_credd_env, "PYTHONPATH": str(CLIENT_SOURCE)}
    result = subprocess.run(
        [sys.executable, "-c", REPORT_IMPORTS, "hot", str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "value\n", "")
    gained = set(report.read_text().split())
    ours = {name for name in gained if name.partition(".")[0] == "credd_client"}
    assert ours == HOT_MODULES
    roots = {name.partition(".")[0] for name in gained - ours}
    assert roots <= set(sys.stdlib_module_names)
    assert roots & NOT_ON_THE_HOT_PATH == set()
