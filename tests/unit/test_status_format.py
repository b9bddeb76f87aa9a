"""`credd status`, the human view: every part of the daemon's status shows up."""

from __future__ import annotations

from typing import Any

from credd_client.cli.admin import format_status


def status(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pid": 4242,
        "version": "0.1.0",
        "started_at": "2026-11-23T10:00:00Z",
        "uptime_seconds": 3725.2,
        "socket": "/run/user/1000/credd/credd.sock",
        "store": {
            "path": "/home/ada/.local/share/credd/store.credd",
            "exists": True,
            "size": 2048,
            "state": "ok",
            "error": None,
        },
        "key_backend": {
            "name": "keyfile",
            "detail": "key file /home/ada/.local/share/credd/store.key (INSECURE: ...)",
            "insecure": True,
            "reason": "no secure OS keyring is reachable (no D-Bus)",
        },
        "locked": False,
        "lock_reason": None,
        "lock_after": 900.0,
        "locks_at": "2026-11-23T11:17:05Z",
        "credentials": {
            "total": 3,
            "by_kind": {"secret": 2, "oauth2": 1},
            "by_status": {"needs_login": 1},
        },
        "oauth": {
            "next_refresh_at": "2026-11-23T11:00:00Z",
            "failures": [{"name": "idp", "status": "needs_login", "last_error": "invalid_grant"}],
            "credentials": [
                {
                    "name": "idp",
                    "status": "needs_login",
                    "expires_at": "2026-11-23T10:30:00Z",
                    "next_refresh_at": None,
                    "last_error": "invalid_grant",
                }
            ],
        },
    }
    base.update(changes)
    return base


def test_the_whole_status_at_a_glance() -> None:
    text = format_status(status())
    assert "running, pid 4242, up 1h 2m 5s (since 2026-11-23T10:00:00Z)" in text
    assert "/run/user/1000/credd/credd.sock" in text
    assert "WARNING: insecure key storage. Reason: no secure OS keyring" in text
    assert "unlocked; locks at 2026-11-23T11:17:05Z after 15m 0s without requests" in text
    assert "store.credd (ok, 2048 bytes)" in text
    assert "credentials: 3 (1 oauth2, 2 secret)" in text
    assert "oauth:       1 needs_login" in text
    assert "next refresh: 2026-11-23T11:00:00Z" in text
    assert "idp: needs_login, expires 2026-11-23T10:30:00Z" in text
    assert "(invalid_grant)" in text


def test_locked_shows_why_and_no_idle_lock_says_so() -> None:
    locked = format_status(
        status(locked=True, lock_reason="waiting for the passphrase", locks_at=None)
    )
    assert "locked (waiting for the passphrase)" in locked
    never = format_status(status(lock_after=None, locks_at=None))
    assert "no idle lock (lock_after unset)" in never


def test_programs_say_plainly_whether_they_can_be_identified() -> None:
    identified = format_status(status(programs={"identifiable": True, "reason": None}))
    assert "programs:    identified (per-program access and the audit's names work)" in identified
    blind = format_status(
        status(programs={"identifiable": False, "reason": "credd runs in a user namespace"})
    )
    assert "programs:    CANNOT BE IDENTIFIED: --allow-program credentials are refused" in blind
    assert "Reason: credd runs in a user namespace" in blind
    assert "programs:" not in format_status(status())  # an older daemon does not say
