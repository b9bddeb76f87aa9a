"""When an STS session is renewed and what `credd aws` hands out, sans I/O.

- A session lasts `session_duration` seconds, by default 12 h from GetSessionToken and
  1 h from AssumeRole (the AWS SDKs' and aws-vault's defaults).
- Its renewal starts `margin` before it expires: 15 minutes, when botocore itself starts
  asking again, or a third of the lifetime for a shorter session (tests make them short),
  with the OAuth schedule's jitter on top (oauth/schedule.py).
- A GET is answered a session valid for at least the margin; while a renewal fails, the
  cached session is still served until it truly expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..oauth import schedule as oauth_schedule
from ..store.records import AWSFields, format_time

GET_SESSION_TOKEN_SECONDS = 12 * 3600
ASSUME_ROLE_SECONDS = 3600
MARGIN_SECONDS = 15 * 60
EXPIRY_SLACK = oauth_schedule.EXPIRY_SLACK
HANDOFF = oauth_schedule.HANDOFF


def wants_session(aws: AWSFields) -> bool:
    """STS hands out the keys (AssumeRole for a role ARN), not the stored ones."""
    return aws.session or aws.role_arn is not None


def duration(aws: AWSFields) -> int:
    if aws.session_duration is not None:
        return aws.session_duration
    return ASSUME_ROLE_SECONDS if aws.role_arn is not None else GET_SESSION_TOKEN_SECONDS


def margin(lifetime: float) -> float:
    return min(MARGIN_SECONDS, lifetime / 3)


def renew_at(now: datetime, expires_at: datetime, lifetime: float, rand: float) -> datetime:
    """When to renew a session received at ``now``; ``rand`` is in [0, 1)."""
    at = oauth_schedule.refresh_at(
        now, expires_at, lifetime=lifetime, configured_margin=margin(lifetime), rand=rand
    )
    assert at is not None
    return at


def fresh(aws: AWSFields, now: datetime) -> bool:
    """The cached session has at least the margin left: hand it out without asking STS."""
    if aws.sts_expires_at is None or aws.sts_access_key_id is None:
        return False
    left = (aws.sts_expires_at - now).total_seconds()
    return left > margin(duration(aws))


def usable(expires_at: datetime | None, now: datetime) -> bool:
    """Keys that expire at ``expires_at`` can still be handed out (a second to spare)."""
    return expires_at is None or expires_at - EXPIRY_SLACK > now


def session_usable(aws: AWSFields, now: datetime) -> bool:
    return aws.sts_access_key_id is not None and usable(aws.sts_expires_at, now)


def wait_until(now: datetime, expires_at: datetime | None, bound: float) -> datetime:
    """The latest moment a GET may wait for a renewal: ``bound`` seconds, and a session
    still usable at ``now`` is answered ``HANDOFF`` before it stops being usable."""
    limit = now + timedelta(seconds=bound)
    if expires_at is not None and usable(expires_at, now):
        limit = min(limit, expires_at - EXPIRY_SLACK - HANDOFF)
    return max(now, limit)


def due(aws: AWSFields, now: datetime) -> bool:
    """The background renews a session it holds (never an MFA one: that needs a code)."""
    return (
        wants_session(aws)
        and aws.mfa_serial is None
        and aws.next_refresh_at is not None
        and aws.next_refresh_at <= now
    )


def process_document(
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
    expires_at: datetime | None,
) -> dict[str, Any]:
    """What `credential_process` prints: AWS's documented JSON, version 1."""
    document: dict[str, Any] = {
        "Version": 1,
        "AccessKeyId": access_key_id,
        "SecretAccessKey": secret_access_key,
    }
    if session_token is not None:
        document["SessionToken"] = session_token
    if expires_at is not None:
        document["Expiration"] = format_time(expires_at)
    return document
