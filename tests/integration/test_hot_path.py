"""`credd get NAME` and `credd list` on their hot paths, and the git helper's `get`, against a
real daemon: the same answers as through the full parser, and only the imports each path
needs (no argparse, no `json` module, no `socket` module and the `enum` it brings)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from dataclasses import dataclass
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

# The only modules of the package a hot `credd get` loads; and what no hot path may load.
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
# `credd list` and the git helper decode JSON, through the C decoder alone (_jsonwire.py).
LIST_MODULES = HOT_MODULES | {"credd_client._jsonwire"}
GIT_HELPER_MODULES = LIST_MODULES - {"credd_client.cli", "credd_client.cli.credentials"} | {
    "credd_client.git_helper",
    "credd_client.names",
}
NOT_ON_THE_HOT_PATH = {
    "argparse",
    "contextlib",
    "credd",
    "enum",
    "gettext",
    "json",
    "re",
    "selectors",
    "shutil",
    "socket",
    "typing",
}

# Runs `main(argv)` of MODULE, then writes the modules that gained to the last argument.
REPORT_IMPORTS = """
import sys
before = set(sys.modules)
module, report, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
main = __import__(module, fromlist=["main"]).main
code = main(argv)
sys.stdout.flush()
with open(report, "w") as out:
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


def test_hot_list_and_full_parser_answer_alike(stored: None) -> None:
    hot = outcome(main, ["list"])
    assert hot == outcome(run_full_parser, ["list"])
    code, out, err = hot
    assert (code, err) == (0, "")
    assert sorted(out.splitlines()) == sorted(f"{name}\tsecret\t\t" for name in STORED)


@dataclass(frozen=True)
class HotRun:
    module: str  # whose main() runs
    argv: list[str]
    stdin: str
    out: str  # what it prints
    modules: set[str]  # the package's modules it loads, exactly


HOT_RUNS = [
    HotRun("credd_client.cli", ["get", "hot"], "", "value\n", HOT_MODULES),
    HotRun("credd_client.cli", ["list"], "", "hot\tsecret\t\t\n", LIST_MODULES),
    HotRun(
        "credd_client.git_helper",
        ["get"],
        "protocol=https\nhost=hot.example\n\n",
        "protocol=https\nhost=hot.example\nusername=me\npassword=pw\n",
        GIT_HELPER_MODULES,
    ),
]


@pytest.mark.parametrize("run", HOT_RUNS, ids=["credd get", "credd list", "git helper get"])
def test_a_hot_path_imports_only_what_it_needs(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], tmp_path: Path, run: HotRun
) -> None:
    with Client(str(headless_daemon.socket)) as client:
        client.set_secret("hot", "value")
        if run.module == "credd_client.git_helper":
            client.set_secret("git:https://me@hot.example", "pw")
    report = tmp_path / "modules"
    env = {**headless_credd_env, "PYTHONPATH": str(CLIENT_SOURCE)}
    result = subprocess.run(
        [sys.executable, "-c", REPORT_IMPORTS, run.module, str(report), *run.argv],
        input=run.stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, run.out, "")
    gained = set(report.read_text().split())
    ours = {name for name in gained if name.partition(".")[0] == "credd_client"}
    assert ours == run.modules
    roots = {name.partition(".")[0] for name in gained - ours}
    assert roots <= set(sys.stdlib_module_names)
    assert roots & NOT_ON_THE_HOT_PATH == set()
