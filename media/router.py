"""Forwards RTP between the participants of one call, packet by packet, never decoding it."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket

from media.rewriter import StreamRewriter

logger = logging.getLogger(__name__)

FORWARDED_CODECS = {"audio": "audio/opus", "video": "video/vp8"}
TS_STEP = {"audio": 960, "video": 3000}  # one 20 ms Opus frame, one 30 fps video frame
KEYFRAME_INTERVAL = 0.3  # seconds between keyframe requests to one source

OnStreams = Callable[[str, dict[str, str]], None]


def abs_send_time() -> int:
    """Now as a 24-bit 6.18 fixed-point seconds value (the abs-send-time header extension)."""
    return int(time.time() * (1 << 18)) & 0xFFFFFF


@dataclass
class Inlet:
    """Media arriving from one participant, one kind."""

    kind: str
    receiver: RTCRtpReceiver
    codec_by_pt: dict[int, str]
    ssrc: int | None = None
    last_keyframe_request: float = 0.0

    async def request_keyframe(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.kind != "video" or self.ssrc is None:
            return
        if not force and now - self.last_keyframe_request < KEYFRAME_INTERVAL:
            return
        self.last_keyframe_request = now
        await self.receiver._send_rtcp_pli(self.ssrc)


@dataclass
class Outlet:
    """One outgoing stream toward one participant (one m-line the browser receives on)."""

    kind: str
    mid: str
    ssrc: int
    payload_type: int
    transport: Any  # aiortc RTCDtlsTransport
    rewriter: StreamRewriter = field(init=False)

    def __post_init__(self) -> None:
        self.rewriter = StreamRewriter(TS_STEP[self.kind])

    async def send(self, packet: RtpPacket) -> None:
        seq, ts = self.rewriter.rewrite(packet.ssrc, packet.sequence_number, packet.timestamp)
        out = RtpPacket(
            payload_type=self.payload_type,
            marker=packet.marker,
            sequence_number=seq,
            timestamp=ts,
            ssrc=self.ssrc,
            payload=packet.payload,
        )
        out.extensions.mid = self.mid
        out.extensions.abs_send_time = abs_send_time()
        out.extensions.audio_level = packet.extensions.audio_level
        with contextlib.suppress(ConnectionError):
            await self.transport._send_rtp(out.serialize(self.transport._rtp_header_extensions_map))


@dataclass
class Slot:
    """A pair of outlets (audio, video) in one viewer's connection, showing one other person."""

    audio: Outlet
    video: Outlet
    source: str = ""

    def outlet(self, kind: str) -> Outlet:
        return self.audio if kind == "audio" else self.video


@dataclass
class Member:
    inlets: dict[str, Inlet]
    slots: list[Slot]
    # source participant id -> the slot of this member's connection that shows it
    showing: dict[str, Slot] = field(default_factory=dict)


class Router:
    """The forwarding table of one call: every member's media goes to a slot of every other."""

    def __init__(self, on_streams: OnStreams, echo: bool = False) -> None:
        self.on_streams = on_streams
        self.echo = echo  # members see themselves (the connection test)
        self.members: dict[str, Member] = {}
        self.forwarded = 0

    def add(self, pid: str, inlets: dict[str, Inlet], slots: list[Slot]) -> None:
        """Add a member: it sees everyone already here, and they see it."""
        member = Member(inlets, slots)
        self.members[pid] = member
        changed = {pid}
        if self.echo:
            self._show(viewer=member, source=pid)
        for other_id, other in self.members.items():
            if other_id == pid:
                continue
            self._show(viewer=member, source=other_id)
            if self._show(viewer=other, source=pid):
                changed.add(other_id)
        for viewer in changed:
            self._announce(viewer)

    async def refresh(self, viewer_id: str) -> None:
        """Ask every source that `viewer_id` shows for a keyframe (it has just connected)."""
        viewer = self.members.get(viewer_id)
        if viewer is None:
            return
        for source_id in viewer.showing:
            source = self.members.get(source_id)
            if source is not None and "video" in source.inlets:
                await source.inlets["video"].request_keyframe(force=True)

    def remove(self, pid: str) -> None:
        if self.members.pop(pid, None) is None:
            return
        for viewer_id, viewer in self.members.items():
            slot = viewer.showing.pop(pid, None)
            if slot is not None:
                slot.source = ""
                self._announce(viewer_id)

    async def forward(self, pid: str, kind: str, packet: RtpPacket) -> None:
        member = self.members.get(pid)
        if member is None:
            return
        inlet = member.inlets.get(kind)
        if inlet is None:
            return
        wanted = inlet.codec_by_pt.get(packet.payload_type) == FORWARDED_CODECS[kind]
        if wanted and packet.payload:
            inlet.ssrc = packet.ssrc
        for viewer in self.members.values():
            slot = viewer.showing.get(pid)
            if slot is None:
                continue
            outlet = slot.outlet(kind)
            if wanted and packet.payload:
                await outlet.send(packet)
                self.forwarded += 1
            else:
                outlet.rewriter.skip(packet.ssrc, packet.sequence_number)

    async def feedback(self, viewer_id: str, slot: Slot, packet: Any) -> None:
        """RTCP from a viewer about one of its slots: picture loss goes to the source."""
        if not isinstance(packet, RtcpPsfbPacket) or packet.fmt not in (
            RTCP_PSFB_PLI,
            RTCP_PSFB_FIR,
        ):
            return
        source = self.members.get(slot.source)
        if source is not None and "video" in source.inlets:
            await source.inlets["video"].request_keyframe()

    def streams(self, viewer_id: str) -> dict[str, str]:
        member = self.members[viewer_id]
        table: dict[str, str] = {}
        for slot in member.slots:
            table[slot.audio.mid] = slot.source
            table[slot.video.mid] = slot.source
        return table

    def _show(self, viewer: Member, source: str) -> bool:
        if source in viewer.showing:
            return False
        free = next((s for s in viewer.slots if not s.source), None)
        if free is None:
            logger.warning("no free receive slot for a participant")
            return False
        free.source = source
        viewer.showing[source] = free
        return True

    def _announce(self, viewer_id: str) -> None:
        self.on_streams(viewer_id, self.streams(viewer_id))
