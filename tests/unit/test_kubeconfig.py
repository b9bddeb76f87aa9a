"""The kubeconfig's users, read and rewritten in place (credd/kube/kubeconfig.py): only the
`user:` values of the imported entries change, every other byte stays, and anything the
edit cannot do safely is refused with a message that quotes no value."""

from __future__ import annotations

import json

import pytest
import yaml

from credd.kube.kubeconfig import KubeconfigError, exec_user, load, rewrite, users

CREDD = "/home/me/.local/bin/credd"

CONFIG = """\
apiVersion: v1
kind: Config
# clusters first
clusters:
- name: prod
  cluster: {server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: alice   # the admin
  user:
    # her token
    token: s3cret-token
- name: "bob smith: ops"
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
- name: carol
  user:
    username: carol
    password: hunter2
contexts: []
current-context: ""
"""


def test_users_are_classified_by_what_they_hold() -> None:
    found = users(load(CONFIG))
    assert [(u.index, u.name, u.kind) for u in found] == [
        (0, "alice", "token"),
        (1, "bob smith: ops", "certificate"),
        (2, "carol", "password"),
    ]
    assert "s3cret" not in repr(found)


def test_only_the_imported_entries_change() -> None:
    new = rewrite(
        CONFIG,
        {0: exec_user(CREDD, "kube:alice"), 1: exec_user(CREDD, "kube:bob smith: ops")},
    )
    assert "s3cret" not in new
    assert "Q0VSVA" not in new
    assert "hunter2" in new  # a password user stays as it is
    before, after = CONFIG.splitlines(), new.splitlines()
    assert after[:10] == before[:10]  # up to alice's comment, byte for byte
    assert after[10:16] == [
        "    exec:",
        "      apiVersion: client.authentication.k8s.io/v1",
        f'      command: "{CREDD}"',
        "      args:",
        "      - kube",
        '      - "kube:alice"',
    ]
    assert after[16] == "      interactiveMode: Never"
    assert after[18].startswith("  user: {exec: {apiVersion: client.authentication.k8s.io/v1,")
    assert after[19:] == before[13:]
    document = yaml.safe_load(new)
    assert document["users"][1]["user"] == exec_user(CREDD, "kube:bob smith: ops")


def test_crlf_line_endings_are_kept() -> None:
    text = CONFIG.replace("\n", "\r\n")
    new = rewrite(text, {0: exec_user(CREDD, "kube:alice")})
    assert "\n" not in new.replace("\r\n", "")
    assert yaml.safe_load(new)["users"][0]["user"] == exec_user(CREDD, "kube:alice")


def test_a_user_given_as_an_alias_is_refused() -> None:
    text = "common: &u\n  token: t\nusers:\n- name: a\n  user: *u\n"
    with pytest.raises(KubeconfigError, match="alias"):
        rewrite(text, {0: exec_user(CREDD, "kube:a")})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: [\n  token: s3cret\n", "not valid YAML at line"),
        ("- just\n- a list\n", "not a mapping"),
        ("users: {a: b}\n", "'users' is not a list"),
        ("users:\n- user: {token: s3cret}\n", "has no name"),
        ('users:\n- name: "a\\nb"\n  user: {token: s3cret}\n', "printable"),
        (f"users:\n- name: {'x' * 300}\n  user: {{token: s3cret}}\n", "at most 251 printable"),
        ("users:\n- name: a\n  user: [s3cret]\n", "'user' is not a mapping"),
    ],
)
def test_malformed_kubeconfigs_are_refused_without_quoting_them(text: str, message: str) -> None:
    with pytest.raises(KubeconfigError, match=message) as caught:
        users(load(text))
    assert "s3cret" not in str(caught.value)


def test_odd_names_are_quoted_so_they_read_back() -> None:
    for name in ("a: b", "#hash", "- dash", "ünï cödé", "true", 'quote " and \\'):
        text = f"users:\n- name: {json.dumps(name)}\n  user:\n    token: t\n"
        assert users(load(text))[0].name == name
        new = rewrite(text, {0: exec_user(CREDD, f"kube:{name}")})
        assert yaml.safe_load(new)["users"][0]["user"]["exec"]["args"] == ["kube", f"kube:{name}"]
