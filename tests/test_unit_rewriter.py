"""Unit tests of media/rewriter.py: one continuous outgoing stream from changing sources."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.rewriter import SEQ_MOD, TS_MOD, StreamRewriter, seq_newer

STEP = 3000
A, B = 0x1111, 0x2222


def feed(rw: StreamRewriter, ssrc: int, seqs: list[int], ts: int = 0) -> list[int]:
    return [rw.rewrite(ssrc, s, ts)[0] for s in seqs]


# ---------------------------------------------------------------- seq_newer


@pytest.mark.parametrize(
    ("a", "b", "newer"),
    [
        (1, 0, True),
        (0, 1, False),
        (5, 5, False),
        (0, 65535, True),
        (65535, 0, False),
        (10, 65530, True),
        (32767, 0, True),
        (32768, 0, False),
    ],
)
def test_seq_newer(a: int, b: int, newer: bool) -> None:
    assert seq_newer(a, b) is newer


# ---------------------------------------------------------------- one source


def test_first_source_passes_through_unchanged() -> None:
    rw = StreamRewriter(STEP)
    assert rw.rewrite(A, 1234, 99_000) == (1234, 99_000)
    assert rw.rewrite(A, 1235, 102_000) == (1235, 102_000)


def test_sequence_wraps_at_65535() -> None:
    rw = StreamRewriter(STEP)
    assert feed(rw, A, [65534, 65535, 0, 1]) == [65534, 65535, 0, 1]


def test_timestamp_wraps_at_2_32() -> None:
    rw = StreamRewriter(STEP)
    assert rw.rewrite(A, 1, TS_MOD - 1000)[1] == TS_MOD - 1000
    assert rw.rewrite(A, 2, 2000)[1] == 2000


def test_out_of_order_packets_map_consistently() -> None:
    rw = StreamRewriter(STEP)
    assert rw.rewrite(A, 10, 1000) == (10, 1000)
    assert rw.rewrite(A, 12, 7000) == (12, 7000)
    assert rw.rewrite(A, 11, 4000) == (11, 4000)
    # a late packet does not pull the stream back: the next source continues after 12
    assert rw.rewrite(B, 500, 0) == (13, 7000 + STEP)


# ---------------------------------------------------------------- source change


def test_new_source_continues_after_the_last_packet() -> None:
    rw = StreamRewriter(STEP)
    feed(rw, A, [100, 101, 102], ts=50_000)
    assert rw.rewrite(B, 7, 123_456) == (103, 50_000 + STEP)
    assert rw.rewrite(B, 8, 123_456 + STEP) == (104, 50_000 + 2 * STEP)


def test_source_change_across_the_wrap() -> None:
    rw = StreamRewriter(STEP)
    rw.rewrite(A, 65535, TS_MOD - 1)
    assert rw.rewrite(B, 40_000, 17) == (0, STEP - 1)


def test_switching_back_to_an_earlier_source_still_continues() -> None:
    rw = StreamRewriter(STEP)
    feed(rw, A, [1, 2])
    feed(rw, B, [900, 901])
    assert rw.rewrite(A, 3, 0)[0] == 5


@given(
    st.integers(0, SEQ_MOD - 1),
    st.integers(0, TS_MOD - 1),
    st.integers(0, SEQ_MOD - 1),
    st.integers(0, TS_MOD - 1),
    st.integers(1, 50),
    st.integers(1, 50),
)
def test_any_two_sources_make_one_continuous_stream(
    seq_a: int, ts_a: int, seq_b: int, ts_b: int, count_a: int, count_b: int
) -> None:
    rw = StreamRewriter(STEP)
    out = [rw.rewrite(A, (seq_a + i) % SEQ_MOD, (ts_a + i * STEP) % TS_MOD) for i in range(count_a)]
    out += [
        rw.rewrite(B, (seq_b + i) % SEQ_MOD, (ts_b + i * STEP) % TS_MOD) for i in range(count_b)
    ]
    for (s1, t1), (s2, t2) in itertools.pairwise(out):
        assert s2 == (s1 + 1) % SEQ_MOD
        assert t2 == (t1 + STEP) % TS_MOD


# ---------------------------------------------------------------- skip


def test_skip_of_an_in_order_packet_leaves_no_gap() -> None:
    rw = StreamRewriter(STEP)
    rw.rewrite(A, 10, 0)
    rw.skip(A, 11)
    rw.skip(A, 12)
    assert feed(rw, A, [13, 14]) == [11, 12]


def test_skip_then_source_change_continues_without_gap() -> None:
    rw = StreamRewriter(STEP)
    rw.rewrite(A, 10, 0)
    rw.skip(A, 11)
    assert rw.rewrite(B, 3, 0)[0] == 11


def test_skip_of_other_source_old_packet_or_before_any_packet_is_ignored() -> None:
    rw = StreamRewriter(STEP)
    rw.skip(A, 5)
    rw.rewrite(A, 10, 0)
    rw.skip(B, 11)
    rw.skip(A, 9)
    rw.skip(A, 10)
    assert rw.rewrite(A, 11, 0)[0] == 11


def test_late_packet_after_a_skip_gets_its_own_sequence_number() -> None:
    rw = StreamRewriter(STEP)
    first = rw.rewrite(A, 10, 0)[0]
    rw.skip(A, 12)  # padding overtakes packet 11
    late = rw.rewrite(A, 11, 0)[0]
    after = rw.rewrite(A, 13, 0)[0]
    assert len({first, late, after}) == 3
