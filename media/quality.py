"""How each viewer's connection looks from the server: loss, round trip and estimate, and
the one word staff see beside their tile ("good" or "weak")."""

from __future__ import annotations

from dataclasses import dataclass

NTP_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
WEAK_LOSS = 0.02  # this share of video lost: the link is congested
WEAK_RTT_MS = 400.0  # a round trip this long makes talking hard
WEAK_KBPS = 300  # less than this: video would be poor (the default --video-back-above)


def ntp_middle(unix_time: float) -> int:
    """The middle 32 bits of an NTP timestamp, as RTCP's LSR carries them (1/65536 s)."""
    return int((unix_time + NTP_OFFSET) * 65536) & 0xFFFFFFFF


def round_trip_ms(lsr: int, dlsr: int, unix_time: float) -> float | None:
    """The round trip from a receiver report block (RFC 3550 6.4.1): now less the time of
    the sender report it answers (LSR) less how long the receiver held it (DLSR)."""
    if not lsr:
        return None
    rtt = (ntp_middle(unix_time) - lsr - dlsr) & 0xFFFFFFFF
    ms = rtt * 1000 / 65536
    return ms if ms < 60_000 else None  # a wrapped or stale report says nothing


@dataclass(frozen=True)
class Quality:
    """One viewer's connection as the server sees it."""

    loss: float | None  # share of video lost at the last check
    rtt_ms: float | None
    kbps: int | None  # what their link is estimated to carry
    paused: bool  # they get no video now (audio only, by choice or for the link)
    weak_link: bool  # the server paused their video for the link

    @property
    def level(self) -> str:
        if self.weak_link:
            return "weak"
        if self.loss is not None and self.loss >= WEAK_LOSS:
            return "weak"
        if self.rtt_ms is not None and self.rtt_ms >= WEAK_RTT_MS:
            return "weak"
        if self.kbps is not None and self.kbps < WEAK_KBPS:
            return "weak"
        return "good"
