"""Unit tests of transport-wide congestion control feedback and the header extension."""

from __future__ import annotations

import struct

from hypothesis import example, given
from hypothesis import strategies as st

from media import twcc


def test_a_feedback_packet_written_by_hand_from_the_draft_is_read() -> None:
    # base 100, 5 packets, reference time 1 (64 ms), feedback count 7; one two-bit status
    # vector chunk: small, small, not received, large (negative), small.
    body = struct.pack("!IIHHI", 0x11, 0x22, 100, 5, (1 << 8) | 7)
    body += bytes.fromhex("d490") + bytes.fromhex("04 08 fffc 28") + b"\x00"
    packet = struct.pack("!BBH", 0x8F, 205, len(body) // 4) + body
    feedback = twcc.parse(packet)
    assert feedback is not None
    assert (feedback.media_ssrc, feedback.base, feedback.count) == (0x22, 100, 7)
    assert feedback.arrivals == [65_000, 67_000, None, 66_000, 76_000]
    assert list(feedback.packets())[2] == (102, None)


def test_run_length_and_one_bit_chunks_are_read() -> None:
    # 20 received with 1 ms between them, then 14 statuses as one bit each: 1,0 repeated.
    one_bit = 0x8000 | int("10" * 7, 2)
    body = struct.pack("!IIHHI", 1, 2, 65530, 34, 0)
    body += struct.pack("!HH", 0x2000 | 20, one_bit) + bytes([4] * 27)
    body += bytes(-len(body) % 4)
    feedback = twcc.parse(struct.pack("!BBH", 0x8F, 205, len(body) // 4) + body)
    assert feedback is not None
    assert feedback.arrivals[:20] == [1000 * (i + 1) for i in range(20)]
    assert feedback.arrivals[20:22] == [21_000, None]
    assert [seq for seq, _ in feedback.packets()][5:7] == [65535, 0]  # wraps


def test_other_rtcp_and_broken_feedback_are_refused() -> None:
    good = twcc.build(1, 2, 10, 0, [1000, None, 3000])
    assert twcc.parse(good) is not None
    assert twcc.parse(good[:-4]) is None  # deltas cut off
    nack = bytes([0x81, 205]) + good[2:]
    assert twcc.parse(nack) is None
    assert twcc.parse(good[:10]) is None
    reserved = bytearray(good)
    reserved[20:22] = struct.pack("!H", 0xC000 | (3 << 12))  # status 3 is reserved
    assert twcc.parse(bytes(reserved)) is None


@given(
    st.integers(0, 65535),
    st.lists(st.one_of(st.none(), st.integers(0, 20_000)), min_size=1, max_size=300),
)
def test_what_build_writes_parse_reads_back(base: int, gaps_ms: list[int | None]) -> None:
    clock, arrivals = 5_000_000, []
    for gap in gaps_ms:
        if gap is None:
            arrivals.append(None)
        else:
            clock += gap * 250 - 2_500_000 // 1000  # some negative (reordered) deltas too
            arrivals.append(clock)
    feedback = twcc.parse(twcc.build(7, 8, base, 3, arrivals))
    assert feedback is not None
    assert feedback.base == base and feedback.count == 3
    assert feedback.arrivals == arrivals


def test_feedback_is_found_in_a_compound_packet() -> None:
    receiver_report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    feedback = twcc.build(1, 2, 10, 0, [1000])
    found = [(pt, fmt) for pt, fmt, _ in twcc.split(receiver_report + feedback)]
    assert found == [(201, 0), (205, 15)]


def test_the_header_extension_in_both_forms_is_read_back() -> None:
    fixed = struct.pack("!BBHII", 0x90, 96, 1, 2, 3)
    for ext_id in (3, 14, 15, 200):
        assert twcc.read_extension(fixed + twcc.extension(ext_id, 54321), ext_id) == 54321
        assert twcc.read_extension(fixed + twcc.extension(ext_id, 5), ext_id + 1) is None
    packet = twcc.HEADER_ONE_BYTE.pack(0x90, 96, 1, 2, 3, 0xBEDE, 1, (5 << 4) | 1, 777)
    assert packet == fixed + twcc.extension(5, 777)
    assert twcc.read_extension(struct.pack("!BBHII", 0x80, 96, 1, 2, 3), 5) is None


def test_the_send_log_remembers_recent_numbers_only() -> None:
    log = twcc.SendLog(ext_id=3, next=65534)
    assert [log.take(1.0, 100), log.take(2.0, 200), log.take(3.0, 300)] == [65534, 65535, 0]
    assert log.sent(65535) == (2.0, 200 + twcc.OVERHEAD)
    assert log.sent(1) is None  # not sent yet
    for i in range(twcc.LOG_SIZE):
        log.take(4.0 + i, 10)
    assert log.sent(65534) is None  # overwritten long ago


@given(
    st.integers(0, 65535),  # the log's first number
    st.integers(1, 2 * twcc.LOG_SIZE),  # how many it has numbered
    st.integers(-300, twcc.LOG_SIZE + 300),  # how far back the feedback starts
    st.lists(st.one_of(st.none(), st.integers(-400, 1200)), min_size=1, max_size=400),
)
@example(4090, 20, 20, [None, 4] * 10)  # the numbers covered wrap around the log
@example(0, 2 * twcc.LOG_SIZE, twcc.REMEMBERED + 5, [None, 4] * 5)  # the oldest remembered
@example(65530, 10, 5, [4, None, 4] * 4)  # half of them not sent yet (and 16 bits wrap)
def test_a_report_holds_what_the_log_and_the_packet_say_of_each_number(
    first: int, numbered: int, back: int, steps: list[int | None]
) -> None:
    """`report` reads the packet and the log in columns; read number by number instead,
    with `parse` and `SendLog.sent`, they must say the same: lost or not, sent when, how
    big, arrived when, for every number covered that the log still remembers."""
    log = twcc.SendLog(ext_id=3, next=first)
    for i in range(numbered):
        log.take(100.0 + i / 1000, 50 + i % 900)
    base = (log.next - back) & 0xFFFF
    clock, arrivals = 2_000_000, []
    for step in steps:  # quarter milliseconds, some large or negative (two-byte deltas)
        if step is not None:
            clock += step * 250
        arrivals.append(None if step is None else clock)
    packet = twcc.build(1, 2, base, 0, arrivals)
    feedback = twcc.parse(packet)
    assert feedback is not None
    expected = [
        (seq, *known, None if arrival is None else arrival / 1e6)
        for seq, arrival in feedback.packets()
        if (known := log.sent(seq)) is not None
    ]
    report = twcc.report(packet, log)
    if not expected:
        assert report is None
        return
    assert report is not None
    got = [(r.seq, r.sent, r.size, r.arrival) for r in report.results()]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    for (*_, arrival), (*_, wanted) in zip(got, expected, strict=True):
        assert (arrival is None) == (wanted is None)
        if arrival is not None and wanted is not None:
            assert abs(arrival - wanted) < 1e-9
    arrived = [e for e in expected if e[3] is not None]
    assert report.sent == [e[1] for e in arrived]
    assert report.octets == sum(e[2] for e in arrived)
    assert (report.expected, report.lost) == (len(expected), len(expected) - len(arrived))
    report.lost_counted = False  # after an outage: only what arrived counts
    assert (report.expected, report.lost) == (len(arrived), 0)
    assert [r.arrival for r in report.results()] == report.arrivals
