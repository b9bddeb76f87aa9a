"""When STS sessions are renewed and what a GET may wait for, sans I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from credd.aws import schedule
from credd.store.records import AWSFields

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_defaults_and_margin() -> None:
    plain = AWSFields(access_key_id="AKIA")
    role = AWSFields(access_key_id="AKIA", role_arn="arn:aws:iam::1:role/r")
    assert schedule.duration(plain) == 12 * 3600
    assert schedule.duration(role) == 3600
    assert schedule.margin(12 * 3600) == 15 * 60
    assert schedule.margin(30) == 10


def test_renewal_at_least_fifteen_minutes_ahead() -> None:
    expires = NOW + timedelta(hours=12)
    for rand in (0.0, 0.5, 0.999):
        at = schedule.renew_at(NOW, expires, 12 * 3600, rand)
        assert expires - at >= timedelta(minutes=15)
        assert at > NOW


def test_fresh_usable_and_wait_bound() -> None:
    session = AWSFields(
        access_key_id="AKIA",
        session_duration=60,
        sts_access_key_id="ASIA",
        sts_secret_access_key="s",
        sts_session_token="t",
        sts_expires_at=NOW + timedelta(seconds=30),
    )
    assert schedule.fresh(session, NOW)
    assert not schedule.fresh(session, NOW + timedelta(seconds=15))
    assert schedule.session_usable(session, NOW + timedelta(seconds=28))
    assert not schedule.session_usable(session, NOW + timedelta(seconds=30))
    until = schedule.wait_until(NOW + timedelta(seconds=28), session.sts_expires_at, 8)
    assert until < session.sts_expires_at - schedule.EXPIRY_SLACK
    assert schedule.wait_until(NOW, None, 3) == NOW + timedelta(seconds=3)


def test_mfa_sessions_are_never_due_in_the_background() -> None:
    mfa = AWSFields(access_key_id="AKIA", mfa_serial="arn:mfa", next_refresh_at=NOW)
    assert not schedule.due(mfa, NOW)
    assert schedule.due(AWSFields(access_key_id="AKIA", next_refresh_at=NOW), NOW)
    off = AWSFields(access_key_id="AKIA", session=False, next_refresh_at=NOW)
    assert not schedule.due(off, NOW)


def test_document_has_expiration_only_for_temporary_keys() -> None:
    assert schedule.process_document("AKIA", "s", None, None) == {
        "Version": 1,
        "AccessKeyId": "AKIA",
        "SecretAccessKey": "s",
    }
    document = schedule.process_document("ASIA", "s", "t", NOW)
    assert document["SessionToken"] == "t"
    assert document["Expiration"] == "2026-12-07T12:00:00Z"
