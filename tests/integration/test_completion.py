"""`credd completion bash|zsh|fish`, driven through each shell's own completion.

bash: a bash started with the script (`complete -p` shows it bound), its completion function
called with COMP_LINE, COMP_POINT, COMP_WORDS and COMP_CWORD as bash sets them (split at
COMP_WORDBREAKS, so `git:ht` is three words); the answer applied to the line as readline
would, then read back by a shell's word splitting. zsh: an interactive zsh in `zpty` with
compinit, typing TAB. fish: `complete -C`. Names come from a real daemon.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from credd_client import Client
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

NAMES = (
    "git:https://example.test/team one",
    "git:https://example.test/other",
    "team one/db pass",
    "docker:registry.example:5000",
)

BASH_DRIVER = r"""
eval "$(credd completion bash)" || exit 9
complete -p credd
COMP_LINE=$LINE
COMP_POINT=${#LINE}
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
_credd_complete
[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}"
"""

ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty credd zsh -f -i
zpty -w credd "PS1='> '; autoload -U compinit; compinit -u -D"
zpty -w credd 'eval "$(credd completion zsh)"'
zpty -w credd 'dump() { print -r -- "$BUFFER" > $OUT.tmp; mv $OUT.tmp $OUT }'
zpty -w credd 'zle -N dump; bindkey "^X" dump'
zpty -w -n credd "credd $TYPED"$'\t'$'\x18'
for i in {1..200}; do [[ -e $OUT ]] && break; sleep 0.1; done
zpty -d credd
"""

# Constructs bash 3.2 (macOS) does not have.
NOT_IN_BASH_3_2 = ("declare -A", "local -A", "compopt", "mapfile", "readarray", ",,}", "^^}", ";&")


@pytest.fixture
def named(headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]) -> dict[str, str]:
    with Client(str(headless_daemon.socket)) as client:
        for name in NAMES:
            client.set_secret(name, "never-completed-value")
    return headless_credd_env


def bash_complete(env: dict[str, str], line: str, words: list[str]) -> list[str]:
    """COMPREPLY for ``line``, the cursor at its end, bash having split it into ``words``."""
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "credd", *words],
        env={**env, "LINE": line},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    bound, *replies = result.stdout.splitlines()
    assert bound == "complete -F _credd_complete credd"
    return replies


def applied(line: str, current_word: str, reply: str) -> list[str]:
    """The line's words once readline replaced the current word with ``reply``."""
    assert line.endswith(current_word)
    return shlex.split(line[: len(line) - len(current_word)] + reply)


@pytest.mark.parametrize(
    ("line", "words", "expected"),
    [
        # bash splits at ":" (COMP_WORDBREAKS): the current word is what follows the last one.
        ("credd get git:ht", ["credd", "get", "git", ":", "ht"], NAMES[:2]),
        ("credd get git:", ["credd", "get", "git", ":"], NAMES[:2]),
        (
            "credd get git:https://example.test/t",
            ["credd", "get", "git", ":", "//example.test/t"],
            NAMES[:1],
        ),
        ("credd delete team\\ o", ["credd", "delete", "team\\ o"], NAMES[2:3]),
        (
            "credd get docker:registry.example:5",
            ["credd", "get", "docker", ":", "registry.example", ":", "5"],
            NAMES[3:],
        ),
        ("credd get ", ["credd", "get", ""], NAMES),
    ],
)
def test_bash_completes_names_with_colons_slashes_and_spaces(
    named: dict[str, str], line: str, words: list[str], expected: tuple[str, ...]
) -> None:
    require_program("bash")
    replies = bash_complete(named, line, words)
    completed = [applied(line, words[-1], reply)[2] for reply in replies]
    assert sorted(completed) == sorted(expected)


def test_bash_completes_a_name_inside_an_open_quote(named: dict[str, str]) -> None:
    line = 'credd get "team o'
    assert bash_complete(named, line, ["credd", "get", '"team o']) == ["team one/db pass"]


def test_bash_completes_commands_options_and_subcommands(
    named: dict[str, str], tmp_path: Path
) -> None:
    assert bash_complete(named, "credd g", ["credd", "g"]) == ["get"]
    assert "completion" in bash_complete(named, "credd ", ["credd", ""])
    assert bash_complete(named, "credd get --j", ["credd", "get", "--j"]) == ["--json"]
    assert bash_complete(named, "credd completion ", ["credd", "completion", ""]) == [
        "bash",
        "zsh",
        "fish",
    ]
    # An option's value is not a name: files, quoted as names are.
    (tmp_path / "my log.txt").touch()
    typed = f"{tmp_path}/my\\ l"
    line = f"credd serve --log-file {typed}"
    (reply,) = bash_complete(named, line, ["credd", "serve", "--log-file", typed])
    assert applied(line, typed, reply)[3] == f"{tmp_path}/my log.txt"


def test_no_daemon_no_names_and_no_values(
    headless_credd_env: dict[str, str], named: dict[str, str]
) -> None:
    names = subprocess.run(
        ["credd", "completion", "--names"], env=named, capture_output=True, text=True, check=False
    )
    assert names.stdout.splitlines() == sorted(NAMES)
    assert "never-completed-value" not in names.stdout + names.stderr


def test_nothing_when_no_daemon_runs_and_none_is_started(
    headless_credd_env: dict[str, str],
) -> None:
    env = {**headless_credd_env, "CREDD_AUTOSTART": "1"}
    assert bash_complete(env, "credd get ", ["credd", "get", ""]) == []
    assert not Path(env["CREDD_SOCKET"]).exists()


def test_nothing_from_a_locked_daemon(
    named: dict[str, str], headless_daemon: DaemonProcess
) -> None:
    with Client(str(headless_daemon.socket)) as client:
        client.lock()
    assert bash_complete(named, "credd get ", ["credd", "get", ""]) == []
    with Client(str(headless_daemon.socket)) as client:
        assert client.status().locked


def test_the_bash_script_keeps_to_bash_3_2(named: dict[str, str]) -> None:
    script = subprocess.run(
        ["credd", "completion", "bash"], env=named, capture_output=True, text=True, check=True
    ).stdout
    assert [word for word in NOT_IN_BASH_3_2 if word in script] == []


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("get git:https://example.test/t", NAMES[0]),
        ("delete team", NAMES[2]),
        ("get docker:reg", NAMES[3]),
    ],
)
def test_zsh_completes_a_name_by_tab(
    named: dict[str, str], tmp_path: Path, typed: str, name: str
) -> None:
    require_program("zsh")
    out = tmp_path / "buffer"
    result = subprocess.run(
        ["zsh", "-f", "-c", ZSH_DRIVER],
        env={**named, "TYPED": typed, "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    assert shlex.split(out.read_text()) == ["credd", typed.split(maxsplit=1)[0], name]


def test_zsh_completes_commands(named: dict[str, str], tmp_path: Path) -> None:
    require_program("zsh")
    out = tmp_path / "buffer"
    subprocess.run(
        ["zsh", "-f", "-c", ZSH_DRIVER],
        env={**named, "TYPED": "compl", "OUT": str(out)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert out.read_text().strip() == "credd completion"


def fish_complete(env: dict[str, str], line: str) -> list[str]:
    result = subprocess.run(
        [
            "fish",
            "--no-config",
            "-c",
            f"credd completion fish | source; complete -C {shlex.quote(line)}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [re.split("\t", candidate)[0] for candidate in result.stdout.splitlines()]


def test_fish_completes_names_and_commands(named: dict[str, str]) -> None:
    require_program("fish")
    assert fish_complete(named, "credd get git:") == sorted(NAMES[:2])
    assert fish_complete(named, "credd delete team") == [NAMES[2]]
    assert "completion" in fish_complete(named, "credd comp")
    assert fish_complete(named, "credd get --j") == ["--json"]
