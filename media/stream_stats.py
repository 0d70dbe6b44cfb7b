"""Counts of one stream, sent or received, for RTCP sender and receiver reports (RFC 3550)."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from aiortc.rtp import RtcpReceiverInfo, RtcpSenderInfo

SEQ_MOD = 1 << 16
NTP_EPOCH = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
SR = struct.Struct("!BBHIQIII")  # header, SSRC, NTP time, RTP time, packets, octets
RR = struct.Struct("!BBHI")  # header, SSRC of the reporter
BLOCK = struct.Struct("!IIIIII")  # SSRC, fraction and cumulative lost, highest, jitter, LSR, DLSR


def ntp_now() -> int:
    """Now as a 64-bit NTP timestamp (32.32 fixed point seconds since 1900)."""
    return int((time.time() + NTP_EPOCH) * (1 << 32))


def empty_receiver_report(reporter: int) -> bytes:
    """An RTCP receiver report without report blocks: "still here", when there is nothing
    to report (RFC 3550 6.4.2 allows a count of zero)."""
    return RR.pack(0x80, 201, 1, reporter)


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

    def sender_report(self, ssrc: int) -> bytes:
        """An RTCP sender report (RFC 3550 6.4.1) for stream `ssrc`, without report blocks."""
        info = self.sender_info()
        return SR.pack(
            0x80,
            200,
            6,
            ssrc,
            info.ntp_timestamp,
            info.rtp_timestamp,
            info.packet_count,
            info.octet_count,
        )

    def sender_info(self) -> RtcpSenderInfo:
        """Now on the NTP clock, and the RTP timestamp this stream would have now."""
        elapsed = time.monotonic() - self.last_sent_at
        rtp_now = (self.last_timestamp + int(elapsed * self.clock_rate)) % (1 << 32)
        return RtcpSenderInfo(
            ntp_timestamp=ntp_now(),
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

    def receiver_report(self, reporter: int) -> bytes:
        """An RTCP receiver report (RFC 3550 6.4.2) from SSRC `reporter` about this stream."""
        block = self.report()
        return RR.pack(0x81, 201, 7, reporter) + BLOCK.pack(
            block.ssrc,
            (block.fraction_lost << 24) | (block.packets_lost & 0xFFFFFF),
            block.highest_sequence,
            block.jitter,
            block.lsr,
            block.dlsr,
        )

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
