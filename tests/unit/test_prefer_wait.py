"""`Prefer: wait=N` (RFC 7240): what clients send, what the daemon reads and how it bounds it."""

from __future__ import annotations

import pytest

from credd.api.prefer import requested_wait
from credd.oauth.schedule import DEFAULT_WAIT, OUTCOME_GRACE, answer_wait
from credd_client._transport import prefer_wait


@pytest.mark.parametrize(
    ("timeout", "wait"),
    [(10.0, 8), (10.9, 8), (30.0, 28), (3.0, 1), (2.5, 0), (1.0, 0), (0.1, 0)],
)
def test_clients_send_whole_seconds_two_short_of_their_patience(timeout: float, wait: int) -> None:
    assert prefer_wait(timeout) == wait


@pytest.mark.parametrize(
    ("fields", "wait"),
    [
        ([(b"prefer", b"wait=8")], 8),
        ([(b"Prefer", b"WAIT=3")], 3),
        ([(b"prefer", b"respond-async, wait=5")], 5),
        ([(b"prefer", b'wait="7"')], 7),
        ([(b"prefer", b"wait=0")], 0),
        ([(b"prefer", b"handling=lenient"), (b"prefer", b"wait=4")], 4),
        ([(b"prefer", b"wait=4;foo=bar")], 4),
        ([(b"prefer", b"wait=-1")], None),
        ([(b"prefer", b"wait=1.5")], None),
        ([(b"prefer", b"wait=")], None),
        ([(b"prefer", b"wait=99999999999999")], None),
        ([(b"prefer", b"waiting=4")], None),
        ([(b"x-prefer", b"wait=4")], None),
        ([], None),
    ],
)
def test_the_daemon_reads_the_wait_preference(
    fields: list[tuple[bytes, bytes]], wait: int | None
) -> None:
    assert requested_wait(fields) == wait


def test_the_daemon_caps_the_wait_and_defaults_it() -> None:
    assert answer_wait(None, 30.0) == DEFAULT_WAIT == 8.0
    assert answer_wait(3, 30.0) == 3
    assert answer_wait(0, 30.0) == 0
    # refresh_timeout, and the room to store the refresh's outcome past it
    assert answer_wait(600, 30.0) == 30.0 + OUTCOME_GRACE
    assert answer_wait(None, 5.0) == 5.0 + OUTCOME_GRACE
    assert answer_wait(None, 1.5) == 1.5 + OUTCOME_GRACE
