"""References safe to commit: `credd exec --env-file` and `credd render`, against the real
daemon, the bad input included (a clear error naming the place, no file, nothing run)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import credd

pytestmark = pytest.mark.integration

SECRET = "reference-canary-5d1e"
OTHER = "hash-name-canary-77c0"
WAIT = 60.0

REPORT = (
    "import json, os; print(json.dumps({k: os.environ.get(k) for k in "
    "('TOKEN', 'USER_NAME', 'PLAIN', 'EMPTY', 'HASHED', 'QUOTED', 'ALONE')}))"
)


@pytest.fixture
def env(headless_daemon: object, headless_credd_env: dict[str, str]) -> dict[str, str]:
    env = headless_credd_env
    assert credd(env, "set", "db", "--username", "deploy", input=SECRET).returncode == 0
    assert credd(env, "set", "issue#42", input=OTHER).returncode == 0
    return env


def test_an_env_file_of_references_runs_the_command_with_their_values(
    env: dict[str, str], short_tmp: Path
) -> None:
    dotenv = short_tmp / ".env"
    dotenv.write_text(
        "# safe to commit: references only\n"
        "export TOKEN=credd:db\n"
        'USER_NAME="credd:db#username"\n'
        "PLAIN=passed as written # a comment\n"
        "EMPTY=\n"
        "HASHED=credd:issue%2342\n"
        "QUOTED='credd:db'\n"
        "ALONE\n"
    )
    result = credd(
        {**env, "ALONE": "inherited"},
        "exec",
        "--env-file",
        str(dotenv),
        "--",
        sys.executable,
        "-c",
        REPORT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "TOKEN": SECRET,
        "USER_NAME": "deploy",
        "PLAIN": "passed as written",
        "EMPTY": "",
        "HASHED": OTHER,
        "QUOTED": SECRET,
        "ALONE": "inherited",  # a key alone sets nothing
    }


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("A=credd:db\nB=credd:absent-one\n", 4, ", line 2: B: no credential named 'absent-one'"),
        (
            "A=credd:db#password\n",
            2,
            "line 1: A: 'credd:db#password' asks for the field 'password'",
        ),
        ("A=credd:db\nB='never closed\n", 2, "line 2: the value of B opens a ' and"),
        ("A=credd:\n", 2, "names no credential"),
        ("A=1\n=2\n", 2, "line 2: expected KEY=VALUE"),
        ("X=1\n", 2, "X is set twice: by --env X and by"),
    ],
)
def test_a_bad_env_file_names_the_place_and_nothing_runs(
    env: dict[str, str], short_tmp: Path, text: str, code: int, says: str
) -> None:
    dotenv = short_tmp / "bad.env"
    dotenv.write_text(text)
    marker = short_tmp / "ran"
    result = credd(
        env, "exec", "--env", "X=db", "--env-file", str(dotenv), "--", "touch", str(marker)
    )
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    assert str(dotenv) in result.stderr or "--env" in result.stderr
    assert SECRET not in result.stderr
    assert not marker.exists()


def test_a_missing_env_file_is_a_usage_error(env: dict[str, str], short_tmp: Path) -> None:
    result = credd(env, "exec", "--env-file", str(short_tmp / "nothing.env"), "--", "true")
    assert result.returncode == 2
    assert "cannot read the env file" in result.stderr


TEMPLATE = "registry={{ credd:db }}\nuser={{credd:db#username}}\nliteral={{{{ x }}\n"
RENDERED = f"registry={SECRET}\nuser=deploy\nliteral={{{{ x }}}}\n"


def test_render_writes_a_0600_file_and_replaces_it_whole(
    env: dict[str, str], short_tmp: Path
) -> None:
    source = short_tmp / "npmrc.tmpl"
    source.write_text(TEMPLATE)
    output = short_tmp / "npmrc"
    output.write_text("old")
    output.chmod(0o644)
    result = credd(env, "render", str(source), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert output.read_text() == RENDERED
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert sorted(p.name for p in short_tmp.iterdir() if "npmrc" in p.name) == [
        "npmrc",
        "npmrc.tmpl",
    ]
    to_stdout = credd(env, "render", str(source))
    assert (to_stdout.returncode, to_stdout.stdout) == (0, RENDERED)


@pytest.mark.parametrize(
    "case",
    [
        (
            "ok\nx={{ credd:db\n",
            "out",
            2,
            "line 2, column 3: a reference opened with {{ is not closed",
        ),
        ("a={{ credd:db }}\nb={{ credd:absent-one }}", "out", 4, "line 2, column 3: no credential"),
        ("{{ .Values.token }}", "out", 2, "line 1, column 1: {{ opens something else"),
        ("{{ credd:db }}", "/sys/credd-render-test", 1, "cannot write /sys/credd-render-test"),
        ("{{ credd:db }}", "no/such/folder/out", 2, "there is no folder"),
    ],
)
def test_bad_render_input_names_the_place_writes_nothing_and_runs_nothing(
    env: dict[str, str], short_tmp: Path, case: tuple[str, str, int, str]
) -> None:
    template, output, code, says = case
    source = short_tmp / "bad.tmpl"
    source.write_text(template)
    marker = short_tmp / "ran"
    target = Path(output) if output.startswith("/") else short_tmp / output
    before = sorted(os.listdir(short_tmp))
    result = credd(
        env,
        "render",
        str(source),
        "-o",
        str(target),
        "--exec-on-change",
        f"touch {marker}",
    )
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    assert SECRET not in result.stderr
    assert not target.exists()
    assert not marker.exists()
    assert sorted(os.listdir(short_tmp)) == before


def test_render_watch_renders_again_on_every_change_and_runs_the_command(
    env: dict[str, str], short_tmp: Path
) -> None:
    source = short_tmp / "app.tmpl"
    source.write_text("token={{ credd:db }}\n")
    output = short_tmp / "app.conf"
    runs = short_tmp / "runs"
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    hook = f"sh -c 'cat {output} >> {runs}'"
    with subprocess.Popen(
        [program, "render", str(source), "-o", str(output), "--watch", "--exec-on-change", hook],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            wait_for(lambda: runs.exists() and runs.read_text() == f"token={SECRET}\n")
            for value in ("second-value", "third-value"):
                assert credd(env, "set", "db", "--username", "deploy", input=value).returncode == 0
                wait_for(lambda value=value: output.read_text() == f"token={value}\n")
            # A change of a credential the template does not name runs nothing: events come
            # in order, so by the time the next one is rendered, it would have.
            assert credd(env, "set", "issue#42", input="unrelated").returncode == 0
            assert credd(env, "set", "db", input="fourth-value").returncode == 0
            wait_for(lambda: runs.read_text().endswith("token=fourth-value\n"))
            assert runs.read_text() == (
                f"token={SECRET}\ntoken=second-value\ntoken=third-value\ntoken=fourth-value\n"
            )
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=WAIT)
    assert SECRET not in err


def wait_for(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
