"""`Masker`: every secret masked however the stream is cut into chunks."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from credd_client.cli.masking import MASK, Masker


def run(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(chunk) for chunk in chunks) + masker.finish()


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in points})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def test_whole_and_split() -> None:
    masker = Masker(["hunter2"])
    assert run(masker, [b"pw=hunter2!"]) == b"pw=" + MASK + b"!"
    assert run(Masker(["hunter2"]), [b"pw=hun", b"te", b"r2!"]) == b"pw=" + MASK + b"!"


def test_a_longer_secret_wins_where_both_start() -> None:
    masker = Masker(["abc", "abcdef"])
    assert run(masker, [b"x abc", b"def y abc z"]) == b"x " + MASK + b" y " + MASK + b" z"


def test_a_prefix_that_never_completes_is_released() -> None:
    masker = Masker(["secret"])
    assert masker.feed(b"a sec") == b"a "
    assert masker.feed(b"ond") == b"second"
    assert masker.finish() == b""


def test_no_secrets_passes_through() -> None:
    masker = Masker(["", ""])
    assert masker.feed(b"anything") == b"anything"
    assert masker.finish() == b""


@given(
    secrets=st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=4),
    pieces=st.lists(st.binary(max_size=20), max_size=8),
    points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=10),
)
def test_chunking_never_changes_the_result(
    secrets: list[bytes], pieces: list[bytes], points: list[int]
) -> None:
    texts = [s.decode("latin-1") for s in secrets]
    values = [t.encode() for t in texts]
    data = b"".join(p + values[i % len(values)] for i, p in enumerate(pieces))
    whole = run(Masker(texts), [data])
    assert run(Masker(texts), cut(data, points)) == whole
    if MASK not in data and not any(v in MASK for v in values):
        for value in values:
            assert value not in whole


def test_a_learned_secret_is_masked_from_the_next_chunk_and_the_old_one_still() -> None:
    masker = Masker(["old-token"])
    first = masker.feed(b"new-token old-token ")
    masker.learn("new-token")
    masker.learn("")  # nothing to mask: ignored
    rest = masker.feed(b"new-token old-token") + masker.finish()
    assert first == b"new-token " + MASK + b" "
    assert rest == MASK + b" " + MASK


def test_a_masker_without_secrets_learns_one() -> None:
    masker = Masker([])
    assert masker.feed(b"plain ") == b"plain "
    masker.learn("s3cret")
    assert run(masker, [b"s3c", b"ret!"]) == MASK + b"!"
