"""Bandwidth: what each viewer says it can receive (REMB), and what each sender may send.

A browser that receives video estimates its downlink and reports it in REMB (RTCP
"receiver estimated maximum bitrate") to the server. The server forwards packets without
transcoding, so a sender's bitrate reaches every viewer of it unchanged: the sender is
asked, with a REMB of the server's own, for no more than its most limited viewer can take.
"""

from __future__ import annotations

from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

AUDIO_BPS = 48_000  # kept aside for each person shown: their audio and packet overhead
MIN_VIDEO_BPS = 30_000  # never ask a sender for less video than this
ESTIMATE_SECONDS = 5.0  # a viewer's estimate older than this no longer counts


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


def video_share(estimate: int, sources: int) -> int:
    """What one of `sources` people shown to a viewer may use for video of `estimate`."""
    return max(MIN_VIDEO_BPS, estimate // max(1, sources) - AUDIO_BPS)
