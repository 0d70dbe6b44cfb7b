"""Counts of one stream, sent or received, for RTCP sender and receiver reports (RFC 3550)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiortc import clock
from aiortc.rtp import RtcpReceiverInfo, RtcpSenderInfo

SEQ_MOD = 1 << 16


@dataclass
class SentStats:
    """What one outgoing stream has sent, to tell its receiver in sender reports."""

    clock_rate: int
    packets: int = 0
    octets: int = 0
    last_timestamp: int = 0
    last_sent_at: float = 0.0

    def sent(self, timestamp: int, payload_size: int) -> None:
        self.packets += 1
        self.octets += payload_size
        self.last_timestamp = timestamp
        self.last_sent_at = time.monotonic()

    def sender_info(self) -> RtcpSenderInfo:
        """Now on the NTP clock, and the RTP timestamp this stream would have now."""
        elapsed = time.monotonic() - self.last_sent_at
        rtp_now = (self.last_timestamp + int(elapsed * self.clock_rate)) % (1 << 32)
        return RtcpSenderInfo(
            ntp_timestamp=clock.current_ntp_time(),
            rtp_timestamp=rtp_now,
            packet_count=self.packets & 0xFFFFFFFF,
            octet_count=self.octets & 0xFFFFFFFF,
        )


@dataclass
class ReceivedStats:
    """What arrived from one incoming stream, to tell its sender in receiver reports."""

    ssrc: int = 0
    received: int = 0
    base_seq: int | None = None
    max_seq: int = 0
    cycles: int = 0
    expected_prior: int = 0
    received_prior: int = 0

    def received_packet(self, ssrc: int, seq: int) -> None:
        if ssrc != self.ssrc or self.base_seq is None:  # a new stream: start counting again
            self.ssrc, self.received, self.cycles = ssrc, 0, 0
            self.base_seq = self.max_seq = seq
            self.expected_prior = self.received_prior = 0
        elif 0 < (seq - self.max_seq) % SEQ_MOD < SEQ_MOD // 2:
            if seq < self.max_seq:
                self.cycles += SEQ_MOD
            self.max_seq = seq
        self.received += 1

    @property
    def expected(self) -> int:
        return 0 if self.base_seq is None else self.cycles + self.max_seq - self.base_seq + 1

    def report(self) -> RtcpReceiverInfo:
        """A report block; fraction lost covers the time since the previous report."""
        expected, received = self.expected, self.received
        interval_expected = expected - self.expected_prior
        interval_lost = interval_expected - (received - self.received_prior)
        self.expected_prior, self.received_prior = expected, received
        fraction = 0
        if interval_expected > 0 and interval_lost > 0:
            fraction = min(255, (interval_lost << 8) // interval_expected)
        return RtcpReceiverInfo(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            packets_lost=max(-(1 << 23), min((1 << 23) - 1, expected - received)),
            highest_sequence=(self.cycles + self.max_seq) & 0xFFFFFFFF,
            jitter=0,
            lsr=0,
            dlsr=0,
        )
