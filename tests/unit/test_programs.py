"""Whether the daemon can identify its clients' programs, and why not (peer.Programs)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from credd.system import peer as peer_module
from credd.system.peer import (
    IDENTIFIABLE,
    Identifiability,
    Programs,
    own_user_namespace,
    refused_reason,
)
from tests.support.requirements import require_program

PRIVATE_USERS = "0 0 1\n1000 1000 1\n"  # what PrivateUsers= gives a user manager's service


@pytest.fixture
def programs() -> Programs:
    return Programs()


def test_the_hosts_user_namespace_is_told_from_its_full_uid_map() -> None:
    assert own_user_namespace("         0          0 4294967295\n") is None
    assert own_user_namespace("") is None  # no /proc: nothing to say
    # What systemd's PrivateUsers= gives a user manager's service: root and the user, no one else.
    assert own_user_namespace("0 0 1\n1000 1000 1\n") == "0 0 1 1000 1000 1"


def test_the_reason_names_the_namespace_and_the_way_back_under_systemd() -> None:
    reason = refused_reason(77, "0 0 1\n1000 1000 1\n", under_systemd=True)
    assert reason.startswith("credd runs in a user namespace of its own (uid map '0 0 1 1000")
    assert "(process 77 of the same user was refused)" in reason
    assert "PrivateUsers=" in reason
    assert "`credd service install` without --strict" in reason
    elsewhere = refused_reason(77, "0 0 1\n1000 1000 1\n", under_systemd=False)
    assert "PrivateUsers" not in elsewhere
    plain = refused_reason(77, "0 0 4294967295", under_systemd=False)
    assert "namespace" not in plain
    assert "process 77" in plain


def test_on_macos_programs_are_identified_through_libproc(
    programs: Programs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peer_module, "libproc_pidpath", lambda: None)
    state = programs.probe(platform="darwin")
    assert state == Identifiability(False, "libproc's proc_pidpath could not be loaded")
    programs.reset()
    monkeypatch.setattr(peer_module, "libproc_pidpath", lambda: print)
    assert programs.probe(platform="darwin") == IDENTIFIABLE


def test_a_readable_parent_means_identifiable(programs: Programs) -> None:
    assert programs.probe() == IDENTIFIABLE
    assert programs.probe(1) == IDENTIFIABLE  # not this user's: no evidence, no change
    assert programs.probe(2**22 + 1) == IDENTIFIABLE  # no such process


def test_a_refused_process_of_this_user_is_sticky_from_a_namespace_of_its_own(
    programs: Programs,
) -> None:
    # In the host's user namespace a refusal hides one process (made non-dumpable), no more.
    programs.refused(4242, uid_map="0 0 4294967295\n")
    assert programs.current() == IDENTIFIABLE
    programs.refused(4242, uid_map=PRIVATE_USERS)
    state = programs.current()
    assert state.identifiable is False
    assert state.reason is not None
    assert "process 4242 of the same user" in state.reason
    programs.refused(5151, uid_map=PRIVATE_USERS)
    assert programs.current() == state  # the first reason stays
    assert programs.current().to_json() == {"identifiable": False, "reason": state.reason}
    programs.reset()
    assert programs.current() == Identifiability(True, None)


@pytest.mark.root
def test_from_a_user_namespace_of_its_own_the_parent_cannot_be_read() -> None:
    """The probe, run by a process in a new user namespace (as PrivateUsers= puts the daemon)."""
    code = (
        "import json, sys; from credd.system.peer import programs; "
        "print(json.dumps(programs.probe().to_json()))"
    )
    result = subprocess.run(
        [require_program("unshare"), "--user", "--map-root-user", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"identifiable": false' in result.stdout
    assert "user namespace of its own" in result.stdout
