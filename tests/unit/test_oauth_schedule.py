"""The refresh schedule, sans I/O: margins, jitter, backoff and what counts as due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credd.oauth import schedule
from credd.store.records import OAuthFields

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def fields(**changes: object) -> OAuthFields:
    base = OAuthFields(
        token_endpoint="https://as.example/token",
        client_id="c",
        refresh_token="r",
        expires_at=NOW + timedelta(seconds=300),
        next_refresh_at=NOW + timedelta(seconds=240),
    )
    return OAuthFields(**{**base.__dict__, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lifetime", "configured", "margin"),
    [
        (3600, None, 60.0),
        (180, None, 60.0),
        (90, None, 30.0),
        (6, None, 2.0),
        (None, None, 60.0),
        (0, None, 60.0),
        (3600, 10.0, 10.0),
        (6, 120.0, 120.0),
    ],
)
def test_the_margin_is_60_s_or_a_third_of_the_lifetime_unless_configured(
    lifetime: float | None, configured: float | None, margin: float
) -> None:
    assert schedule.refresh_margin(lifetime, configured) == margin


def test_expiry_counts_from_the_answer() -> None:
    assert schedule.expiry(NOW, 30) == NOW + timedelta(seconds=30)
    assert schedule.expiry(NOW, None) is None


@given(
    lifetime=st.integers(min_value=1, max_value=10**6),
    rand=st.floats(min_value=0, max_value=1, exclude_max=True),
    configured=st.none() | st.floats(min_value=0.1, max_value=10**5),
)
def test_a_refresh_is_scheduled_between_margin_and_one_and_a_half_margins_ahead(
    lifetime: int, rand: float, configured: float | None
) -> None:
    expires_at = NOW + timedelta(seconds=lifetime)
    at = schedule.refresh_at(
        NOW, expires_at, lifetime=lifetime, configured_margin=configured, rand=rand
    )
    assert at is not None
    margin = schedule.refresh_margin(lifetime, configured)
    ahead = (expires_at - at).total_seconds()
    assert at >= NOW
    if at > NOW:
        assert margin - 1e-6 <= ahead <= 1.5 * margin + 1e-6


def test_jitter_spreads_tokens_issued_together() -> None:
    expires_at = NOW + timedelta(seconds=3600)
    times = {
        schedule.refresh_at(NOW, expires_at, lifetime=3600, configured_margin=None, rand=r / 10)
        for r in range(10)
    }
    assert len(times) == 10


def test_no_expiry_means_no_refresh_ahead_and_the_past_means_now() -> None:
    assert schedule.refresh_at(NOW, None, lifetime=None, configured_margin=None, rand=0.5) is None
    past = NOW - timedelta(seconds=5)
    assert schedule.refresh_at(NOW, past, lifetime=10, configured_margin=None, rand=0.5) == NOW


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert schedule.backoff(0, 0.0) == 0.5
    assert schedule.backoff(0, 0.999999) == pytest.approx(1.0, abs=1e-5)
    assert schedule.backoff(3, 0.0) == 4.0
    assert schedule.backoff(3, 0.5) == 6.0
    assert schedule.backoff(20, 0.999999) == pytest.approx(300.0, abs=1e-3)
    assert schedule.backoff(10**6, 0.0) == 150.0
    delays = [schedule.backoff(n, 0.0) for n in range(12)]
    assert delays == sorted(delays)


def test_retry_at_adds_the_backoff() -> None:
    assert schedule.retry_at(NOW, 2, 0.0) == NOW + timedelta(seconds=2)


def test_an_unknown_outcome_waits_for_the_token_to_expire() -> None:
    expires_at = NOW + timedelta(seconds=100)
    at = schedule.after_unknown_outcome(NOW, expires_at, 0)
    assert at == expires_at - schedule.EXPIRY_SLACK


def test_an_unknown_outcome_after_expiry_still_waits_a_backoff_step() -> None:
    expired = NOW - timedelta(seconds=100)
    assert schedule.after_unknown_outcome(NOW, expired, 0) == NOW + timedelta(seconds=1)
    assert schedule.after_unknown_outcome(NOW, expired, 3) == NOW + timedelta(seconds=8)
    assert schedule.after_unknown_outcome(NOW, None, 1) == NOW + timedelta(seconds=2)


def test_usable_keeps_a_second_of_slack() -> None:
    assert schedule.usable(fields(expires_at=NOW + timedelta(seconds=2)), NOW)
    assert not schedule.usable(fields(expires_at=NOW + timedelta(seconds=1)), NOW)
    assert not schedule.usable(fields(expires_at=NOW - timedelta(seconds=1)), NOW)
    assert schedule.usable(fields(expires_at=None), NOW)


@pytest.mark.parametrize(
    ("changes", "is_due"),
    [
        ({}, False),
        ({"next_refresh_at": NOW}, True),
        ({"next_refresh_at": NOW - timedelta(seconds=1)}, True),
        ({"next_refresh_at": NOW, "status": "error"}, True),
        ({"next_refresh_at": NOW, "status": "needs_login"}, False),
        ({"next_refresh_at": NOW, "refresh_token": None}, False),
        ({"next_refresh_at": None}, False),
    ],
)
def test_due(changes: dict[str, object], is_due: bool) -> None:
    assert schedule.due(fields(**changes), NOW) is is_due


def test_a_get_waits_at_most_the_bound_for_an_expired_token() -> None:
    expired = fields(expires_at=NOW - timedelta(seconds=5))
    assert schedule.wait_until(NOW, expired, 3.0) == NOW + timedelta(seconds=3)
    assert schedule.wait_until(NOW, fields(expires_at=None), 3.0) == NOW + timedelta(seconds=3)


def test_a_valid_token_is_answered_before_it_stops_being_usable() -> None:
    # Issue 11: a 10 s token, asked for 3.1 s before expiry, while its refresh hangs.
    valid = fields(expires_at=NOW + timedelta(seconds=3.1))
    until = schedule.wait_until(NOW, valid, 3.0)
    assert until == NOW + timedelta(seconds=1.6)
    assert schedule.usable(valid, until)
    # Less than the handoff left: answered at once.
    nearly = fields(expires_at=NOW + timedelta(seconds=1.2))
    assert schedule.wait_until(NOW, nearly, 3.0) == NOW


@given(
    left=st.floats(min_value=-100, max_value=100),
    bound=st.floats(min_value=0, max_value=10),
)
def test_the_wait_is_bounded_and_never_outlives_a_valid_token(left: float, bound: float) -> None:
    oauth = fields(expires_at=NOW + timedelta(seconds=left))
    until = schedule.wait_until(NOW, oauth, bound)
    assert NOW <= until <= NOW + timedelta(seconds=bound)
    if schedule.usable(oauth, NOW):
        assert schedule.usable(oauth, until)
