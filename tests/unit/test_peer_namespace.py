"""A peer in another mount namespace has no identifiable program (sans-I/O over a fake /proc)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from credd.access import check_reader
from credd.store.records import Credential
from credd.system.peer import Peer, other_mount_namespace
from credd_client.errors import CreddError


def fake_proc(tmp_path: Path, ours: str, theirs: str | None) -> str:
    for pid, target in (("self", ours), ("42", theirs)):
        if target is None:
            continue
        (tmp_path / pid / "ns").mkdir(parents=True)
        os.symlink(target, tmp_path / pid / "ns" / "mnt")
    return str(tmp_path)


def test_the_same_mount_namespace_says_nothing(tmp_path: Path) -> None:
    assert other_mount_namespace(42, fake_proc(tmp_path, "mnt:[1]", "mnt:[1]")) is None


def test_another_mount_namespace_is_named(tmp_path: Path) -> None:
    reason = other_mount_namespace(42, fake_proc(tmp_path, "mnt:[1]", "mnt:[2]"))
    assert reason is not None
    assert "process 42 runs in another mount namespace (mnt:[2], credd's is mnt:[1])" in reason


def test_an_unreadable_namespace_counts_as_another(tmp_path: Path) -> None:
    reason = other_mount_namespace(42, fake_proc(tmp_path, "mnt:[1]", None))
    assert reason is not None
    assert "cannot be read" in reason


def test_a_program_restricted_credential_is_refused_to_an_unknown_program() -> None:
    restricted = Credential(name="c", kind="secret", secret="s", allowed_programs=("/usr/bin/git",))
    open_to_all = Credential(name="o", kind="secret", secret="s")
    here = Peer(pid=42, uid=0, exe="/usr/bin/git")
    check_reader(restricted, here)
    for peer in (
        Peer(pid=42, uid=0, exe=None, program_unknown="process 42 runs in another mount namespace"),
        here.through_view("devbox"),
    ):
        check_reader(open_to_all, peer)
        with pytest.raises(CreddError) as refused:
            check_reader(restricted, peer)
        assert refused.value.code == "forbidden"
        assert "cannot be known" in refused.value.message
    assert here.through_view("devbox").to_json()["program_unknown"].endswith("cannot be known")
    assert "program_unknown" not in here.to_json()
