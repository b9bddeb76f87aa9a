"""When to refresh, sans I/O: every function takes the time and the randomness it needs.

- The refresh margin is `refresh_margin` when configured, else the smaller of 60 s and a
  third of the token's lifetime. A refresh is scheduled that long before expiry, minus a
  jitter of up to half the margin (so tokens issued together do not all come back together).
- Retries after a failure that left the refresh token unspent wait 2^attempt seconds
  (capped at five minutes), scaled by a random factor in [0.5, 1).
- A GET waits for a refresh no longer than its client will (`answer_wait`: the request's
  `Prefer: wait`, 8 s without one, at most `refresh_timeout` and a second to store the
  outcome), and a token still usable when the GET came is answered a moment before it
  stops being usable, however the refresh is going (`wait_until`).
- After an unknown outcome (the server may have rotated the token, the answer was lost) the
  next attempt waits until the access token has truly expired: until then the current token
  serves, and sending the refresh token again before that could only cost the grant sooner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..store.records import OAuthFields

MAX_MARGIN = 60.0
JITTER = 0.5
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
# `expires_in` is whole seconds: a token may die up to a second before the computed time.
EXPIRY_SLACK = timedelta(seconds=1)
# A still-valid token answered because its refresh is late has at least this long left to
# reach the client and be used.
HANDOFF = timedelta(seconds=0.5)
# The wait of a request without `Prefer: wait`: under the clients' default timeout of 10 s,
# with room for the rest of the request (a cold process start on a loaded machine).
DEFAULT_WAIT = 8.0
# A refresh takes its durable trace before the request is sent and stores its outcome after
# the endpoint's answer (or `refresh_timeout`): a client that waits past `refresh_timeout`
# gets that outcome when the wait has this much room for those two writes.
OUTCOME_GRACE = 1.0


def answer_wait(requested: float | None, refresh_timeout: float) -> float:
    """How long a request may wait for a refresh or the keyring: what its client asked
    (`Prefer: wait`), `DEFAULT_WAIT` when it did not say, never more than `refresh_timeout`
    (and the writes around it): past that the refresh has failed anyway."""
    wanted = DEFAULT_WAIT if requested is None else requested
    return min(wanted, refresh_timeout + OUTCOME_GRACE)


def refresh_margin(lifetime: float | None, configured: float | None = None) -> float:
    """Seconds before expiry at which a refresh starts."""
    if configured is not None:
        return configured
    if lifetime is None or lifetime <= 0:
        return MAX_MARGIN
    return min(MAX_MARGIN, lifetime / 3)


def expiry(received_at: datetime, expires_in: int | None) -> datetime | None:
    """When a token expires: `expires_in` counted from the moment the answer arrived."""
    return None if expires_in is None else received_at + timedelta(seconds=expires_in)


def refresh_at(
    now: datetime,
    expires_at: datetime | None,
    *,
    lifetime: float | None,
    configured_margin: float | None,
    rand: float,
) -> datetime | None:
    """When to refresh a token that expires at ``expires_at``; ``rand`` is in [0, 1).

    None when the token has no expiry (nothing to refresh ahead of). Never before ``now``.
    """
    if expires_at is None:
        return None
    margin = refresh_margin(lifetime, configured_margin)
    ahead = margin * (1 + JITTER * rand)
    return max(now, expires_at - timedelta(seconds=ahead))


def renew_by(expires_at: datetime | None, id_token_expires_at: datetime | None) -> datetime | None:
    """What a refresh must come before: the access token's expiry, or the ID token's when
    that comes first (Kubernetes checks the ID token)."""
    if expires_at is None or id_token_expires_at is None:
        return expires_at or id_token_expires_at
    return min(expires_at, id_token_expires_at)


def backoff(attempt: int, rand: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
    delay: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 32))
    return delay * (0.5 + 0.5 * rand)


def retry_at(now: datetime, attempt: int, rand: float) -> datetime:
    return now + timedelta(seconds=backoff(attempt, rand))


def after_unknown_outcome(now: datetime, expires_at: datetime | None, attempt: int) -> datetime:
    """The next attempt after a lost answer: once the access token is no longer usable.

    Never sooner than a full backoff step either, so an answer lost after expiry does not
    turn into a loop of attempts.
    """
    step = retry_at(now, attempt, 1.0)
    if expires_at is None:
        return step
    return max(step, expires_at - EXPIRY_SLACK)


def usable(oauth: OAuthFields, now: datetime) -> bool:
    """The access token can still be handed out (it has no expiry, or a second to spare)."""
    return oauth.expires_at is None or oauth.expires_at - EXPIRY_SLACK > now


def due(oauth: OAuthFields, now: datetime) -> bool:
    """A refresh should start now: scheduled, not waiting for a login, and its time is here."""
    return (
        oauth.refresh_token is not None
        and oauth.status != "needs_login"
        and oauth.next_refresh_at is not None
        and oauth.next_refresh_at <= now
    )


def wait_until(now: datetime, oauth: OAuthFields, bound: float) -> datetime:
    """The latest moment a GET arriving at ``now`` may wait for its credential's refresh.

    Never more than ``bound`` seconds (its client's wait), counted from its own arrival
    however long the refresh has been out: a slow endpoint is not a dead one, and a GET that
    came late gets the same patience as the first. A token still usable at ``now`` is
    answered ``HANDOFF`` before it stops being usable; one with less left than that is
    answered at once.
    """
    limit = now + timedelta(seconds=bound)
    if oauth.expires_at is not None and usable(oauth, now):
        limit = min(limit, oauth.expires_at - EXPIRY_SLACK - HANDOFF)
    return max(now, limit)
