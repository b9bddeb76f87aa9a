"""`git-credential-credd` driven by the real `git` (fill, approve, reject, a clone over HTTP
with basic auth) and by hand for the attributes newer gits send."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from credd_client import Client
from tests.support.cli import credd, run_program
from tests.support.daemon import DaemonProcess
from tests.support.git_server import GitHttpServer
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration


def git_env(env: dict[str, str]) -> dict[str, str]:
    """The test's environment with a HOME whose gitconfig selects credd only."""
    home = Path(env["HOME"])
    (home / ".gitconfig").write_text(
        "[credential]\n\thelper = credd\n[user]\n\tname = t\n\temail = t@example.invalid\n"
    )
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    return {
        **{key: value for key, value in env.items() if key.lower() not in proxies},
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
    }


def git(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    program = require_program("git")
    return subprocess.run(
        [program, *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def helper(env: dict[str, str], action: str, request: str) -> subprocess.CompletedProcess[str]:
    return run_program(env, "git-credential-credd", action, input=request)


def fields(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_approve_fill_reject_with_real_git(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = git_env(helper_env)
    approve = "protocol=https\nhost=git.example.com:8443\nusername=octo cat\npassword=p@ss:w/rd\n\n"
    assert git(env, "credential", "approve", input=approve).returncode == 0

    listing = credd(env, "list", "--json")
    [stored] = json.loads(listing.stdout)["credentials"]
    assert stored["name"] == "git:https://octo cat@git.example.com:8443"
    assert stored["username"] == "octo cat"
    assert stored["labels"] == {"protocol": "https", "host": "git.example.com:8443"}

    fill = git(env, "credential", "fill", input="protocol=https\nhost=git.example.com:8443\n\n")
    assert fill.returncode == 0, fill.stderr
    assert fields(fill.stdout) == {
        "protocol": "https",
        "host": "git.example.com:8443",
        "username": "octo cat",
        "password": "p@ss:w/rd",
    }
    # Another port, path (git passes it with useHttpPath), protocol or user: no match,
    # and git then fails (no prompt here).
    for request in (
        "protocol=https\nhost=git.example.com\n\n",
        "protocol=https\nhost=git.example.com:8443\npath=a/b.git\n\n",
        "protocol=http\nhost=git.example.com:8443\n\n",
        "protocol=https\nhost=git.example.com:8443\nusername=someone\n\n",
    ):
        fill = git(env, "-c", "credential.useHttpPath=true", "credential", "fill", input=request)
        assert fill.returncode != 0, request

    reject = "protocol=https\nhost=git.example.com:8443\nusername=octo cat\npassword=p@ss:w/rd\n\n"
    assert git(env, "credential", "reject", input=reject).returncode == 0
    assert credd(env, "list").stdout == ""


def test_use_http_path_keeps_one_credential_per_repository(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = git_env(helper_env)
    for path, password in (("org/a.git", "pa"), ("org/b.git", "pb")):
        request = f"protocol=https\nhost=h.test\npath={path}\nusername=u\npassword={password}\n\n"
        approve = git(
            env, "-c", "credential.useHttpPath=true", "credential", "approve", input=request
        )
        assert approve.returncode == 0
    names = sorted(line.split("\t")[0] for line in credd(env, "list").stdout.splitlines())
    assert names == ["git:https://u@h.test/org/a.git", "git:https://u@h.test/org/b.git"]
    got = fields(helper(env, "get", "protocol=https\nhost=h.test\npath=org/b.git\n\n").stdout)
    assert got["password"] == "pb"
    # A request without a path matches only a credential stored without one.
    assert helper(env, "get", "protocol=https\nhost=h.test\n\n").stdout == ""


def test_unknown_and_newer_attributes_are_ignored(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = helper_env
    stored = helper(env, "store", "protocol=https\nhost=h.test\nusername=u\npassword=pw\n\n")
    assert stored.returncode == 0, stored.stderr
    request = (
        "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=h.test\n"
        'wwwauth[]=Basic realm="x"\nwwwauth[]=Bearer\nsomething_new=1\nnot an attribute\n\n'
        "protocol=ignored-after-the-blank-line\n"
    )
    got = helper(env, "get", request)
    assert got.returncode == 0, got.stderr
    assert fields(got.stdout)["password"] == "pw"
    # An expiry git cannot have meant is never kept as a permanent password.
    unreadable = "protocol=https\nhost=other.test\nusername=u\npassword=tok\n"
    for expiry in ("soon", "-5", "99999999999999999999"):
        request = f"{unreadable}password_expiry_utc={expiry}\n\n"
        assert helper(env, "store", request).returncode == 0
    assert "other.test" not in credd(env, "list").stdout
    # erase with a password that is not the stored one leaves it
    assert helper(env, "erase", "protocol=https\nhost=h.test\npassword=old\n\n").returncode == 0
    assert "h.test" in credd(env, "list").stdout


FUTURE = 4070908800  # 2099-01-01T00:00:00Z
PAST = 1000000000  # 2001-09-09T01:46:40Z


def test_expiring_password_and_refresh_token_are_kept_and_answered_back(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    """What git's credential-cache does (git 2.39 sends neither attribute: fed by hand)."""
    env = helper_env
    minted = (
        "protocol=https\nhost=forge.test\nusername=oauth2\npassword=minted-token\n"
        f"password_expiry_utc={FUTURE}\noauth_refresh_token=refresh-1\n\n"
    )
    assert helper(env, "store", minted).returncode == 0
    [stored] = json.loads(credd(env, "list", "--json").stdout)["credentials"]
    assert stored["kind"] == "secret"
    assert stored["expires_at"] == "2099-01-01T00:00:00Z"
    assert "refresh_token" not in stored  # never in lists
    with Client(env["CREDD_SOCKET"]) as client:
        assert client.get(stored["name"]).refresh_token is None
        assert client.get(stored["name"], include=["refresh_token"]).refresh_token == "refresh-1"

    got = helper(env, "get", "protocol=https\nhost=forge.test\n\n")
    assert fields(got.stdout) == {
        "protocol": "https",
        "host": "forge.test",
        "username": "oauth2",
        "password": "minted-token",
        "password_expiry_utc": str(FUTURE),
        "oauth_refresh_token": "refresh-1",
    }
    # git stores what it used: nothing to write. A newly minted token replaces the old one,
    # its expiry and refresh token with it; one without a refresh token drops the old one.
    assert helper(env, "store", minted).returncode == 0
    renewed = minted.replace("minted-token", "token-2").replace("refresh-1", "refresh-2")
    assert helper(env, "store", renewed).returncode == 0
    got = fields(helper(env, "get", "protocol=https\nhost=forge.test\n\n").stdout)
    assert (got["password"], got["oauth_refresh_token"]) == ("token-2", "refresh-2")
    plain = "protocol=https\nhost=forge.test\nusername=oauth2\npassword=token-3\n\n"
    assert helper(env, "store", plain).returncode == 0
    got = fields(helper(env, "get", "protocol=https\nhost=forge.test\n\n").stdout)
    assert got["password"] == "token-3"
    assert "password_expiry_utc" not in got
    assert "oauth_refresh_token" not in got
    assert len(json.loads(credd(env, "list", "--json").stdout)["credentials"]) == 1


def test_a_password_past_its_expiry_is_never_answered(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = git_env(helper_env)
    expired = (
        "protocol=https\nhost=expired.test\nusername=u\npassword=stale-token\n"
        f"password_expiry_utc={PAST}\noauth_refresh_token=rt\n\n"
    )
    assert helper(env, "store", expired).returncode == 0
    got = helper(env, "get", "protocol=https\nhost=expired.test\n\n")
    assert (got.returncode, got.stdout) == (0, "")
    # The real git: nothing answered, so it would prompt (disabled here) and fails.
    fill = git(env, "credential", "fill", input="protocol=https\nhost=expired.test\n\n")
    assert fill.returncode != 0
    assert "stale-token" not in fill.stdout + fill.stderr

    # Skipped as if absent: another user's permanent password for the host is answered, and
    # a fresh expiring one is answered through the real git too.
    approve = "protocol=https\nhost=expired.test\nusername=other\npassword=permanent\n\n"
    assert git(env, "credential", "approve", input=approve).returncode == 0
    fill = git(env, "credential", "fill", input="protocol=https\nhost=expired.test\n\n")
    assert fields(fill.stdout)["password"] == "permanent", fill.stderr
    fresh = expired.replace(str(PAST), str(FUTURE)).replace("stale-token", "fresh-token")
    assert helper(env, "store", fresh).returncode == 0
    fill = git(env, "credential", "fill", input="protocol=https\nhost=expired.test\nusername=u\n\n")
    assert fields(fill.stdout)["password"] == "fresh-token", fill.stderr


def test_oauth2_credential_answers_its_access_token_with_expiry(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = helper_env
    body = {
        "kind": "oauth2",
        "secret": "access-token-1",
        "token_endpoint": "https://idp.invalid/token",
        "client_id": "cid",
        "refresh_token": "rt",
        "expires_at": "2099-01-01T00:00:00Z",
        "labels": {"protocol": "https", "host": "oauth.test"},
    }
    assert (
        credd(env, "set", "git:https://oauth.test", "--json", input=json.dumps(body)).returncode
        == 0
    )
    got = fields(helper(env, "get", "protocol=https\nhost=oauth.test\n\n").stdout)
    assert got["password"] == "access-token-1"
    assert got["username"] == "oauth2"
    assert got["password_expiry_utc"] == "4070908800"
    # git's store and erase after using it never replace or drop the grant.
    helper(env, "store", "protocol=https\nhost=oauth.test\nusername=oauth2\npassword=x\n\n")
    helper(env, "erase", "protocol=https\nhost=oauth.test\nusername=oauth2\n\n")
    assert credd(env, "get", "git:https://oauth.test").stdout == "access-token-1\n"


def test_store_updates_a_credential_made_by_hand(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = helper_env
    credd(
        env, "set", "git:https://github.com", "--username", "octo", "--label", "team=a", input="v1"
    )
    request = "protocol=https\nhost=github.com\nusername=octo\npassword=v2\n\n"
    assert helper(env, "store", request).returncode == 0
    [stored] = json.loads(credd(env, "list", "--json").stdout)["credentials"]
    assert stored["name"] == "git:https://github.com"
    assert stored["labels"] == {"team": "a", "protocol": "https", "host": "github.com"}
    assert credd(env, "get", "git:https://github.com").stdout == "v2\n"


def test_a_secret_with_a_newline_is_never_answered(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = helper_env
    name = "git:https://u@nl.test"
    credd(env, "set", name, "--username", "u", input="pw\nusername=evil\n")
    got = helper(env, "get", "protocol=https\nhost=nl.test\n\n")
    assert (got.returncode, got.stdout) == (0, "")
    assert "newline" in got.stderr
    assert "evil" not in got.stderr


def test_no_daemon_answers_nothing_with_a_hint(helper_env: dict[str, str]) -> None:
    env = helper_env
    for action in ("get", "store", "erase"):
        result = helper(env, action, "protocol=https\nhost=h.test\nusername=u\npassword=p\n\n")
        assert (result.returncode, result.stdout) == (0, ""), action
        assert "credd serve" in result.stderr
        assert "password=p" not in result.stderr


def test_clone_and_push_over_http_with_basic_auth(
    headless_daemon: DaemonProcess, helper_env: dict[str, str], short_tmp: Path
) -> None:
    env = git_env(helper_env)
    with GitHttpServer(short_tmp / "srv", "alice", "s3cr3t-t0ken") as server:
        url = f"{server.url}/repo.git"
        # Without a credential: refused (no prompt), nothing stored.
        denied = git(env, "clone", url, str(short_tmp / "denied"))
        assert denied.returncode != 0
        assert credd(env, "list").stdout == ""

        host = f"127.0.0.1:{server.port}"
        assert (
            credd(
                env, "set", f"git:http://alice@{host}", "--username", "alice", input="s3cr3t-t0ken"
            ).returncode
            == 0
        )
        work = short_tmp / "work"
        clone = git(env, "clone", url, str(work))
        assert clone.returncode == 0, clone.stderr
        (work / "f.txt").write_text("hello\n")
        assert git(env, "-C", str(work), "add", "f.txt").returncode == 0
        assert git(env, "-C", str(work), "commit", "-qm", "one").returncode == 0
        push = git(env, "-C", str(work), "push", "-q", "origin", "HEAD")
        assert push.returncode == 0, push.stderr
        assert server.authorized_requests > 0
    assert "s3cr3t-t0ken" not in (work / ".git" / "config").read_text()
    assert not (Path(env["HOME"]) / ".git-credentials").exists()
