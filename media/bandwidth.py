"""Bandwidth: what each viewer says it can receive (REMB), and what each sender may send.

A browser that receives video estimates its downlink and reports it in REMB (RTCP
"receiver estimated maximum bitrate") to the server. The server forwards packets without
transcoding, so a sender's bitrate reaches every viewer of it unchanged: the sender is
asked, with a REMB of the server's own, for no more than its most limited viewer can take.
"""

from __future__ import annotations

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
