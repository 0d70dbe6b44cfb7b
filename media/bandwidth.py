"""Bandwidth: what each viewer can receive (REMB, or the server's own estimate), and what
each sender may send.

A browser that receives video estimates its downlink and reports it in REMB (RTCP
"receiver estimated maximum bitrate") to the server; one that negotiated transport-wide
congestion control reports instead when each packet arrived, and the server estimates the
downlink itself (`Measured`). The server forwards packets without
transcoding, so a sender's bitrate reaches every viewer of it unchanged: the sender is
asked, with a REMB of the server's own, for no more than its most limited viewer can take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

from media import twcc
from media.estimator import Estimator
from media.prober import Prober

MIN_SHARE_BPS = 60_000  # never ask a sender for less than this (its audio and some video)
ESTIMATE_SECONDS = 5.0  # a viewer's estimate older than this no longer counts
HIGH_LOSS = 0.1  # more video lost than this lowers what a viewer's estimate allows
SOME_LOSS = 0.02  # this much video lost: the viewer's link is congested
FALL = 0.97  # an estimate under this share of the previous one has fallen: congestion
CONGESTED_SECONDS = 5.0  # an estimate counts as the link's limit this long after a fall
STALE_RATIO = 1.5  # a link that carried more than this times the estimate (+10 kbit/s)...
NO_LIMIT_BPS = 10_000_000  # the REMB that lifts an earlier limit (browsers keep the last)
OUTAGE_SECONDS = 1.0  # no transport-cc feedback for this long: the link was down
PROBE_MARGIN = 1.25  # a paused viewer's probes aim this far above what recovery needs


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


@dataclass(slots=True)
class Measured:
    """What the server measures of one viewer's downlink itself, from the transport-cc
    feedback its browser sends on every packet we number (see `media.estimator` and
    `media.prober`). A browser that reports transport-cc stops sending REMB for it.

    The estimate covers everything sent to the viewer; what counts for video is that less
    the audio it gets (measured once a check)."""

    log: twcc.SendLog
    estimator: Estimator = field(default_factory=Estimator)
    prober: Prober = field(default_factory=Prober)
    audio_bps: int = 0
    heard_at: float = -math.inf  # when feedback last came
    feedbacks: int = 0
    _audio: tuple[int, float] | None = None  # audio octets counted, and when

    def feedback(self, packet: bytes, now: float) -> None:
        """One transport-cc feedback packet from the viewer."""
        report = twcc.report(packet, self.log)
        if report is None:
            return
        if now - self.heard_at > OUTAGE_SECONDS and self.feedbacks:
            # Back from an outage: what was sent meanwhile is reported lost, which says
            # nothing about how much the link takes now.
            self.estimator.restart()
            report.lost_counted = False
        self.heard_at = now
        self.feedbacks += 1
        self.estimator.update(report, now)
        probed = self.prober.feedback(report, now)
        if probed is not None:
            self.estimator.probed(probed, now)

    def count_audio(self, octets: int, packets: int, now: float) -> None:
        """Once a check: the audio payload and packets sent to the viewer so far."""
        total = octets + packets * (12 + 8 + twcc.OVERHEAD)  # header, extension, SRTP tag
        if self._audio is not None and 0 < now - self._audio[1] < 10:
            self.audio_bps = int(max(0, total - self._audio[0]) * 8 / (now - self._audio[1]))
        self._audio = (total, now)

    def video(self, now: float) -> int | None:
        """What the link takes for video, or None when no feedback came lately."""
        if now - self.heard_at >= ESTIMATE_SECONDS:
            return None
        return max(0, self.estimator.bitrate - self.audio_bps)

    def weakness(self, now: float) -> int | None:
        """The video estimate if it shows a link too narrow for what is sent: it fell lately,
        and packets were lost lately (over 10 %). An estimate that never fell may only mean
        little was sent so far; one that fell for delay alone, with nothing lost, may be a
        busy receiver's jitter (a busy machine showed it), so it limits senders but does not
        pause video."""
        video = self.video(now)
        estimator = self.estimator
        if video is None or now - estimator.congested_at >= CONGESTED_SECONDS:
            return None
        if now - estimator.lossy_at >= CONGESTED_SECONDS:
            return None
        return video

    def padding(self, now: float, above_bps: int) -> tuple[int, bool]:
        """(bits per second of padding, whether it is a probe) for a viewer whose video is
        paused: a probe's rate, less the audio, while one is on; else up to the video
        estimate, at most `above_bps` (it keeps the feedback, and the estimate, going)."""
        estimate = self.estimator.bitrate
        floor = int((above_bps + self.audio_bps) * PROBE_MARGIN)
        probe = self.prober.rate(now, estimate, floor)
        if probe is not None:
            return max(0, probe - self.audio_bps), True
        return min(max(estimate - self.audio_bps, 0), above_bps), False
