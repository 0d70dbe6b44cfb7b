"""Unit tests of the packet cache and the counts behind RTCP sender and receiver reports."""

from __future__ import annotations

import time

from aiortc.rtp import RtcpPacket, RtcpRrPacket, RtcpSrPacket

from media.packet_cache import PacketCache
from media.stream_stats import NTP_EPOCH, ReceivedStats, SentStats


def test_cache_keeps_recent_packets_and_forgets_overwritten_ones() -> None:
    cache = PacketCache(size=4)
    for seq in range(65534, 65536 + 3):  # across the wrap
        cache.add(seq % 65536, bytes([seq % 256]))
    assert cache.get(0) == bytes([0]) and cache.get(2) == bytes([2])
    assert cache.get(65534) is None  # overwritten by 2 (same ring slot)
    assert cache.get(1234) is None


def test_receiver_report_counts_loss_since_the_last_report() -> None:
    stats = ReceivedStats()
    for seq in (10, 11, 13, 14):  # 12 lost
        stats.received_packet(ssrc=7, seq=seq)
    first = stats.report()
    assert (first.ssrc, first.packets_lost, first.highest_sequence) == (7, 1, 14)
    assert first.fraction_lost == (1 << 8) // 5
    for seq in (15, 16):
        stats.received_packet(ssrc=7, seq=seq)
    assert stats.report().fraction_lost == 0  # nothing lost since the first report


def test_receiver_report_follows_sequence_wrap_and_a_new_stream() -> None:
    stats = ReceivedStats()
    for seq in (65534, 65535, 0, 1):
        stats.received_packet(ssrc=7, seq=seq)
    report = stats.report()
    assert report.highest_sequence == 65536 + 1 and report.packets_lost == 0
    stats.received_packet(ssrc=8, seq=500)  # the sender restarted
    assert stats.expected == 1 and stats.report().ssrc == 8


def test_sender_report_counts_and_projects_the_rtp_clock() -> None:
    stats = SentStats(clock_rate=90000)
    stats.sent(timestamp=3000, payload_size=1000)
    stats.sent(timestamp=6000, payload_size=500)
    info = stats.sender_info()
    assert (info.packet_count, info.octet_count) == (2, 1500)
    assert 6000 <= info.rtp_timestamp < 6000 + 90000  # at most a second later
    assert info.ntp_timestamp > 0


def test_reports_are_rtcp_that_a_peer_parses() -> None:
    sent = SentStats(clock_rate=48000)
    sent.sent(timestamp=960, payload_size=80)
    received = ReceivedStats()
    for seq in (1, 2, 4):
        received.received_packet(ssrc=9, seq=seq)
    sr, rr = RtcpPacket.parse(sent.sender_report(1234) + received.receiver_report(55))
    assert isinstance(sr, RtcpSrPacket) and isinstance(rr, RtcpRrPacket)
    assert sr.ssrc == 1234 and (sr.sender_info.packet_count, sr.sender_info.octet_count) == (1, 80)
    seconds = sr.sender_info.ntp_timestamp / (1 << 32) - NTP_EPOCH
    assert abs(seconds - time.time()) < 5
    (block,) = rr.reports
    assert rr.ssrc == 55 and (block.ssrc, block.packets_lost, block.highest_sequence) == (9, 1, 4)
    assert block.fraction_lost == (1 << 8) // 4
