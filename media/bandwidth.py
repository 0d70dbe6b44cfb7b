"""Bandwidth: what each viewer says it can receive (REMB), and what each sender may send.

A browser that receives video estimates its downlink and reports it in REMB (RTCP
"receiver estimated maximum bitrate") to the server. The server forwards packets without
transcoding, so a sender's bitrate reaches every viewer of it unchanged: the sender is
asked, with a REMB of the server's own, for no more than its most limited viewer can take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

MIN_SHARE_BPS = 60_000  # never ask a sender for less than this (its audio and some video)
ESTIMATE_SECONDS = 5.0  # a viewer's estimate older than this no longer counts
HIGH_LOSS = 0.1  # more video lost than this lowers what a viewer's estimate allows
SOME_LOSS = 0.02  # this much video lost: the viewer's link is congested
FALL = 0.97  # an estimate under this share of the previous one has fallen: congestion
CONGESTED_SECONDS = 5.0  # an estimate counts as the link's limit this long after a fall
STALE_RATIO = 1.5  # a link that carried more than this times the estimate (+10 kbit/s)...
NO_LIMIT_BPS = 10_000_000  # the REMB that lifts an earlier limit (browsers keep the last)


def read_remb(packet: Any) -> int | None:
    """The bitrate of a REMB packet, or None if `packet` is not one."""
    if not isinstance(packet, RtcpPsfbPacket) or packet.fmt != RTCP_PSFB_APP:
        return None
    try:
        bitrate, _ssrcs = unpack_remb_fci(packet.fci)
    except ValueError:
        return None
    return int(bitrate)


def remb(reporter_ssrc: int, bitrate: int, ssrcs: list[int]) -> bytes:
    """A REMB packet asking the sender of `ssrcs` for at most `bitrate` bits per second."""
    fci = pack_remb_fci(bitrate, ssrcs)
    return bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=reporter_ssrc, media_ssrc=0, fci=fci))


def after_loss(estimate: int, loss: float | None) -> int:
    """A viewer's estimate, lowered as a sender's own rate control would for the share of
    video it reports lost: REMB comes from delay alone, and over 10 % lost (a lossy radio
    link, say) means less should be sent, whatever the delay says."""
    if loss is None or loss <= HIGH_LOSS:
        return estimate
    return int(estimate * (1 - loss / 2))


def share(estimate: int, sources: int) -> int:
    """What each of `sources` people shown to a viewer may send it, of `estimate` in all.

    The share covers a sender's audio and video: a browser given a REMB target keeps its
    audio and fits its video in the rest. A share short of the estimate (less audio, say)
    would be a trap: a receiver's estimate cannot grow much beyond what it receives.
    """
    return max(MIN_SHARE_BPS, estimate // max(1, sources))


@dataclass
class Downlink:
    """What one viewer's browser says it can receive (REMB), what its link has carried, and
    how far the one is to be trusted given the other."""

    estimate: int | None = None  # bits per second, as last said
    estimate_at: float = 0.0
    fell_at: float = -math.inf  # when the estimate last went down
    loss: float | None = None  # share of the video sent to it lost, at the last check
    delivered_bps: float = 0.0  # video sent over the last check, less what was lost
    delivered_octets: int = 0
    delivered_at: float = 0.0

    def heard(self, estimate: int, now: float) -> None:
        """A REMB from the viewer."""
        if self.estimate is not None and estimate < self.estimate * FALL:
            self.fell_at = now
        self.estimate, self.estimate_at = estimate, now

    def count(self, octets: int, loss: float | None, now: float) -> None:
        """Once a check: video payload sent to the viewer so far, and the share lost since."""
        self.loss = loss
        seconds = now - self.delivered_at
        if 0 < seconds < 10 and octets >= self.delivered_octets:
            sent = (octets - self.delivered_octets) * 8 / seconds
            self.delivered_bps = sent * (1 - (loss or 0.0))
        self.delivered_octets, self.delivered_at = octets, now

    def recent(self, now: float) -> int | None:
        if self.estimate is None or now - self.estimate_at >= ESTIMATE_SECONDS:
            return None
        return self.estimate

    def limit(self, now: float) -> int | None:
        """The recent estimate, unless that is stale (see `stale`) and has not just fallen."""
        estimate = self.recent(now)
        if estimate is None or (not self.fell(now) and self.stale(estimate)):
            return None
        return estimate

    def weakness(self, now: float) -> int | None:
        """The recent estimate, if that shows a congested link: it fell lately (a browser
        lowers it only when it sees queues grow) or video is being lost, and it is not
        stale. A low estimate that never fell may only mean little was sent so far."""
        estimate = self.recent(now)
        lossy = (self.loss or 0.0) >= SOME_LOSS
        if estimate is None or not (self.fell(now) or lossy) or self.stale(estimate):
            return None
        return estimate

    def fell(self, now: float) -> bool:
        return now - self.fell_at < CONGESTED_SECONDS

    def stale(self, estimate: int) -> bool:
        """Whether the link has just carried far more than `estimate` without loss.

        A browser's estimate starts from what it received in its first seconds (little,
        after a quiet start) and then grows by about 8 % a second, so it can lag far
        behind what the link carries; limiting senders to it would keep it there.
        """
        carried = self.delivered_bps > STALE_RATIO * estimate + 10_000
        return carried and (self.loss or 0.0) < SOME_LOSS
