"""Forwards RTP between the participants of one call, packet by packet, never decoding it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, Protocol

from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
)

from media import bandwidth, fallback, quality, rtpraw, twcc
from media.packet_cache import PacketCache
from media.rewriter import StreamRewriter
from media.stream_stats import ReceivedStats, SentStats

logger = logging.getLogger(__name__)

FORWARDED_CODECS = {"audio": "audio/opus", "video": "video/vp8"}
TS_STEP = {"audio": 960, "video": 3000}  # one 20 ms Opus frame, one 30 fps video frame
CLOCK_RATE = {"audio": 48000, "video": 90000}
KEYFRAME_INTERVAL = 0.3  # seconds between keyframe requests to one source
PACK = rtpraw.FIXED.pack
PACK_TWCC = twcc.HEADER_ONE_BYTE.pack  # the header with the transport sequence number
LOG_MASK = twcc.LOG_MASK
TWCC_OVERHEAD = twcc.OVERHEAD

OnStreams = Callable[[str, dict[str, str]], None]
OnPresence = Callable[[str, bool], None]  # participant, away (no media) or back
OnWeak = Callable[[str, bool], None]  # participant, link too weak for video (True) or not
SILENT_CHECKS = 2  # presence checks (one a second) without media before someone counts away


@dataclass
class Inlet:
    """Media arriving from one participant, one kind."""

    kind: str
    receiver: RTCRtpReceiver | None  # None: a phone leg, which takes no keyframe requests
    codec_by_pt: dict[int, str]
    report_ssrc: int  # the SSRC our receiver reports come from
    ssrc: int | None = None
    last_keyframe_request: float = 0.0
    stats: ReceivedStats = field(default_factory=ReceivedStats)

    def receiver_report(self) -> bytes:
        if not self.stats.received:
            return b""
        return self.stats.receiver_report(self.report_ssrc)

    async def request_keyframe(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.kind != "video" or self.ssrc is None or self.receiver is None:
            return
        if not force and now - self.last_keyframe_request < KEYFRAME_INTERVAL:
            return
        self.last_keyframe_request = now
        await self.receiver._send_rtcp_pli(self.ssrc)


class RtpSink(Protocol):
    """Where an outlet's packets go: a connection's SRTP (media/wire.py), or a phone leg."""

    def send_rtp(self, raw: bytes, /) -> None: ...


@dataclass
class Outlet:
    """One outgoing stream toward one participant (one m-line the browser receives on).

    Forwarded packets go out with this stream's SSRC and payload type and a continuous
    sequence: the browser knows the SSRC from the answer. The only header extension is the
    transport-wide sequence number, when the viewer negotiated transport-cc (`twcc`, the
    viewer's one numbering of all its streams).
    """

    kind: str
    mid: str
    ssrc: int
    payload_type: int
    wire: RtpSink
    rewriter: StreamRewriter = field(init=False)
    stats: SentStats = field(init=False)
    cache: PacketCache | None = field(init=False)
    loss: fallback.Loss = field(init=False)
    twcc: twcc.SendLog | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.rewriter = StreamRewriter(TS_STEP[self.kind])
        self.stats = SentStats(CLOCK_RATE[self.kind])
        self.cache = PacketCache() if self.kind == "video" else None
        self.loss = fallback.Loss()

    def send(self, marker: int, source: int, sequence: int, timestamp: int, payload: bytes) -> None:
        """Send one packet of `source` (an SSRC) as the next packet of this stream."""
        seq, ts = self.rewriter.rewrite(source, sequence, timestamp)
        now = monotonic()
        log = self.twcc
        if log is None:
            raw = PACK(0x80, marker | self.payload_type, seq, ts, self.ssrc) + payload
        else:  # SendLog.take, inline
            number = log.next
            log.next = (number + 1) & 0xFFFF
            pt = marker | self.payload_type
            header = PACK_TWCC(0x90, pt, seq, ts, self.ssrc, 0xBEDE, 1, log.element, number)
            raw = header + payload
            log.times[number & LOG_MASK] = now
            log.sizes[number & LOG_MASK] = len(raw) + TWCC_OVERHEAD
        stats = self.stats  # SentStats.sent, inline: this runs for every packet
        stats.packets += 1
        stats.octets += len(payload)
        stats.last_timestamp = ts
        stats.last_sent_at = now
        cache = self.cache
        if cache is not None:
            cache.add(seq, raw)
        self.wire.send_rtp(raw)

    def pad(self, size: int, seconds: float) -> int | None:
        """Send `size` bytes of RTP padding (no media), `seconds` after the previous send;
        its transport sequence number, if it has one."""
        seq, ts = self.rewriter.filler(int(seconds * CLOCK_RATE[self.kind]))
        padding = bytes(size - 1) + bytes((size,))
        log, number = self.twcc, None
        if log is None:
            raw = rtpraw.FIXED.pack(0xA0, self.payload_type, seq, ts, self.ssrc) + padding
        else:
            number = log.take(monotonic(), 20 + size)
            header = (0xB0, self.payload_type, seq, ts, self.ssrc, 0xBEDE, 1, log.element, number)
            raw = PACK_TWCC(*header) + padding
        self.stats.sent(ts, 0)
        self.wire.send_rtp(raw)
        return number

    def resend(self, sequences: list[int]) -> int:
        """Send again what the receiver reports lost, if still cached; returns how many."""
        count = 0
        log = self.twcc
        for seq in sequences:
            raw = self.cache.get(seq) if self.cache is not None else None
            if raw is not None:
                if log is not None and raw[0] & 0x10:  # a new transport number: a new send
                    number = log.take(monotonic(), len(raw))
                    raw = raw[:17] + bytes((number >> 8, number & 0xFF)) + raw[19:]
                self.wire.send_rtp(raw)
                count += 1
        return count

    def sender_report(self) -> bytes:
        if not self.stats.packets:
            return b""
        return self.stats.sender_report(self.ssrc)


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
    wants_video: bool = True  # False: audio only, no video is forwarded to this member
    # payload type -> where this member's packets of that type go (see Router._plan)
    routes: dict[int, Route] = field(default_factory=dict)
    # media presence: packets counted at the last check, checks since a packet came
    counted: int = 0
    quiet: int = 0
    sending: bool = False
    away: bool = False
    link: fallback.LinkWatch = field(default_factory=fallback.LinkWatch)
    downlink: bandwidth.Downlink = field(default_factory=bandwidth.Downlink)
    # the server's own estimate, when the viewer negotiated transport-cc
    measured: bandwidth.Measured | None = None
    rtt_ms: float | None = None  # round trip, from their receiver reports

    @property
    def video_on(self) -> bool:
        """Whether video is forwarded to this member: wanted, and the link can take it."""
        return self.wants_video and not self.link.weak


@dataclass(slots=True)
class Route:
    """Packets of one payload type from one member: forwarded to `outlets`, or only skipped
    there (RTX and other codecs the router does not forward)."""

    inlet: Inlet
    forwarded: bool
    outlets: list[Outlet]


class Router:
    """The forwarding table of one call: every member's media goes to a slot of every other."""

    def __init__(
        self,
        on_streams: OnStreams,
        echo: bool = False,
        thresholds: fallback.Thresholds | None = None,
    ) -> None:
        self.on_streams = on_streams
        self.echo = echo  # members see themselves (the connection test)
        self.thresholds = thresholds or fallback.Thresholds()
        self.probed_at = 0.0
        self.members: dict[str, Member] = {}
        self.forwarded = 0
        self.forwarded_bytes = 0  # payload bytes, once per viewer they went to
        self.resent = 0

    def add(
        self,
        pid: str,
        inlets: dict[str, Inlet],
        slots: list[Slot],
        twcc_id: int | None = None,
        wants_video: bool = True,
    ) -> None:
        """Add a member: it sees everyone already here, and they see it. With `twcc_id` (the
        header extension id it negotiated for transport-cc), what is sent to it is numbered
        and the server estimates its downlink from its feedback. Without `wants_video`, no
        video is ever forwarded to it (a phone leg)."""
        member = Member(inlets, slots, wants_video=wants_video)
        if twcc_id is not None:
            log = twcc.SendLog(twcc_id)
            member.measured = bandwidth.Measured(log)
            for slot in slots:
                slot.audio.twcc = slot.video.twcc = log
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
        self._plan()
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

    async def set_video(self, viewer_id: str, on: bool) -> None:
        """Forward video to `viewer_id` or not (audio only, by choice); audio goes on."""
        viewer = self.members.get(viewer_id)
        if viewer is None or viewer.wants_video == on:
            return
        was_on = viewer.video_on
        viewer.wants_video = on
        await self._video_switched(viewer_id, viewer, was_on)

    async def check_links(self) -> list[tuple[str, bool]]:
        """Whose link became too weak for video (True) or recovered (False) since last time.

        Called about once a second. Members who chose audio only are not judged: their
        link's state stays as it was until they want video again.
        """
        changes: list[tuple[str, bool]] = []
        now = time.monotonic()
        for pid, member in list(self.members.items()):
            expected = lost = 0
            for slot in member.showing.values():
                more, less = slot.video.loss.since_check()
                expected, lost = expected + more, lost + less
            loss = fallback.loss_share(expected, lost)
            octets = sum(slot.video.stats.octets for slot in member.showing.values())
            member.downlink.count(octets, loss, now)
            measured = member.measured
            if measured is not None:
                audio = [slot.audio.stats for slot in member.showing.values()]
                measured.count_audio(
                    sum(a.octets for a in audio), sum(a.packets for a in audio), now
                )
            if not member.wants_video or not member.showing:
                continue
            was_on = member.video_on
            weak = member.link.check(self._judged(member, now), loss, self.thresholds)
            if weak is not None:
                changes.append((pid, weak))
                if measured is not None:
                    self._log_estimate(measured)
                if weak and measured is not None:
                    measured.prober.wait(now)  # let the link settle before probing it
                await self._video_switched(pid, member, was_on)
        return changes

    @staticmethod
    def _log_estimate(measured: bandwidth.Measured) -> None:
        """At a change only: a line a second per viewer would be a call history."""
        estimator = measured.estimator
        logger.debug(
            "server's estimate %d kbit/s (delay %d, audio %d, loss %.2f); "
            "%d of %d probes showed room",
            estimator.bitrate // 1000,
            min(estimator.delay_bps, 1e9) // 1000,
            measured.audio_bps // 1000,
            estimator.loss or 0.0,
            measured.prober.succeeded,
            measured.prober.probes,
        )

    @staticmethod
    def _judged(member: Member, now: float) -> int | None:
        """The estimate a member's link is judged by: the server's own (transport-cc) while
        its feedback comes, else the browser's REMB. Paused: any estimate shows recovery.
        Not yet: only one that shows congestion."""
        measured = member.measured
        if measured is not None and measured.video(now) is not None:
            return measured.video(now) if member.link.weak else measured.weakness(now)
        downlink = member.downlink
        return downlink.recent(now) if member.link.weak else downlink.weakness(now)

    def probe(self) -> bool:
        """Pad the video of each viewer paused for a weak link; False when there are none."""
        now = time.monotonic()
        seconds = min(now - self.probed_at, 5 * fallback.PROBE_SECONDS)
        self.probed_at = now
        probing = False
        for member in self.members.values():
            if not member.link.weak:
                continue
            probing = True
            slot = next(iter(member.showing.values()), None)
            if not member.wants_video or slot is None:
                continue
            measured, probe = member.measured, False
            if measured is not None and measured.video(now) is not None:
                rate, probe = measured.padding(now, self.thresholds.above_bps)
                size = member.link.owed(rate, seconds)
            else:
                size = member.link.padding(
                    member.downlink.recent(now), len(member.showing), seconds, self.thresholds
                )
            pause = seconds
            while size > 0:
                chunk = min(size, fallback.PAD_MAX)
                number = slot.video.pad(chunk, pause)
                if probe and number is not None and measured is not None:
                    measured.prober.sent(number)
                pause, size = 0.0, size - chunk
        return probing

    def transport_feedback(self, viewer_id: str, packet: bytes, at: float) -> None:
        """A transport-cc feedback packet from a viewer (RTCP, already decrypted) that came
        `at` (monotonic seconds)."""
        viewer = self.members.get(viewer_id)
        if viewer is not None and viewer.measured is not None:
            viewer.measured.feedback(packet, at)

    async def _video_switched(self, viewer_id: str, viewer: Member, was_on: bool) -> None:
        """Forwarding of video to `viewer` may have stopped or started: route accordingly.

        When it starts again, each outlet's numbering continues where it stopped (the
        rewriter starts a new run) and every source shown sends a keyframe.
        """
        if viewer.video_on == was_on:
            return
        if viewer.video_on:
            for slot in viewer.slots:
                slot.video.rewriter.source = None
        self._plan()
        if viewer.video_on:
            await self.refresh(viewer_id)

    def remove(self, pid: str) -> None:
        if self.members.pop(pid, None) is None:
            return
        self._plan()
        for viewer_id, viewer in self.members.items():
            slot = viewer.showing.pop(pid, None)
            if slot is not None:
                slot.source = ""
                self._announce(viewer_id)

    def forward(self, pid: str, data: bytes) -> None:
        """Send one RTP packet from member `pid` to the slot that shows it in everyone's view.

        This runs for every packet, from the socket's receive callback: the header is read in
        place and each viewer's outlet gets the payload.
        """
        member = self.members.get(pid)
        if member is None or len(data) < 12:
            return
        first, second, sequence, timestamp, source = rtpraw.FIXED.unpack_from(data)
        route = member.routes.get(second & 0x7F)
        if route is None or first & 0xC0 != 0x80:
            return
        if first == 0x80:  # no CSRC, extension or padding
            start, end = 12, len(data)
        else:
            start, end = rtpraw.payload_bounds(data, first)
        if not route.forwarded or start >= end:  # RTX, or padding only: never forwarded
            for outlet in route.outlets:
                outlet.rewriter.skip(source, sequence)
            return
        inlet = route.inlet
        inlet.ssrc = source
        inlet.stats.received_packet(source, sequence)
        payload = data[start:end]
        marker = second & 0x80
        for outlet in route.outlets:
            outlet.send(marker, source, sequence, timestamp, payload)
        self.forwarded += len(route.outlets)
        self.forwarded_bytes += (end - start) * len(route.outlets)

    async def feedback(self, viewer_id: str, slot: Slot, packet: Any) -> None:
        """RTCP from a viewer about one of its slots.

        Lost packets are sent again from the slot's cache; picture loss goes to the source,
        which sends a keyframe.
        """
        estimate = bandwidth.read_remb(packet)
        if estimate is not None:
            viewer = self.members.get(viewer_id)
            if viewer is not None:
                viewer.downlink.heard(estimate, time.monotonic())
        elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == slot.video.ssrc:
                    slot.video.loss.reported(report.highest_sequence, report.packets_lost)
                rtt = quality.round_trip_ms(report.lsr, report.dlsr, time.time())
                viewer = self.members.get(viewer_id)
                if rtt is not None and viewer is not None:
                    viewer.rtt_ms = rtt
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            viewer = self.members.get(viewer_id)
            # Video paused: a weak link gets no old video either (it only finishes frames).
            outlets = (slot.audio, slot.video) if viewer and viewer.video_on else (slot.audio,)
            for outlet in outlets:
                if outlet.ssrc == packet.media_ssrc:
                    self.resent += outlet.resend(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            source = self.members.get(slot.source)
            if source is not None and "video" in source.inlets:
                await source.inlets["video"].request_keyframe()

    def quality(self) -> dict[str, quality.Quality]:
        """Each member's connection as the server sees it (for staff's indicator)."""
        now = time.monotonic()
        seen: dict[str, quality.Quality] = {}
        for pid, member in self.members.items():
            measured = member.measured
            estimate = measured.video(now) if measured is not None else None
            if estimate is None:
                estimate = member.downlink.recent(now)
            seen[pid] = quality.Quality(
                loss=member.downlink.loss,
                rtt_ms=member.rtt_ms,
                kbps=None if estimate is None else estimate // 1000,
                paused=not member.video_on,
                weak_link=member.link.weak,
            )
        return seen

    def target_for(self, source_id: str, now: float) -> int | None:
        """The most `source_id` should send: its most limited viewer's share.

        Each viewer's estimate, lowered for heavy loss, is split between the people it is
        shown. Viewers that get no video, or whose estimate is not what their link holds it
        to (see Downlink.limit), do not limit it. None when no viewer does.
        """
        shares = [
            bandwidth.share(estimate, len(v.showing))
            for v in self.members.values()
            if source_id in v.showing
            and v.video_on
            and (estimate := self._limit(v, now)) is not None
        ]
        return min(shares) if shares else None

    @staticmethod
    def _limit(viewer: Member, now: float) -> int | None:
        """What a viewer's link holds a sender to in all: the server's own estimate for
        video (it already counts loss) while transport-cc feedback comes, for 5 s after it
        fell (as with REMB below, an estimate that did not fall only follows what the
        senders chose to send: holding them to it would keep them there); else its REMB
        estimate lowered for heavy loss, unless that is stale (see Downlink.limit)."""
        measured = viewer.measured
        video = measured.video(now) if measured is not None else None
        if measured is not None and video is not None:
            fell = now - measured.estimator.congested_at < bandwidth.CONGESTED_SECONDS
            return video if fell else None
        estimate = viewer.downlink.limit(now)
        if estimate is None:
            return None
        return bandwidth.after_loss(estimate, viewer.downlink.loss)

    def streams(self, viewer_id: str) -> dict[str, str]:
        member = self.members[viewer_id]
        table: dict[str, str] = {}
        for slot in member.slots:
            table[slot.audio.mid] = slot.source
            table[slot.video.mid] = slot.source
        return table

    def check_presence(self) -> list[tuple[str, bool]]:
        """Who stopped sending media (away: True) or started again (False) since last time.

        Called about once a second. Browsers keep sending while muted or with the camera
        off, so a member that was sending and has sent nothing for SILENT_CHECKS checks has
        lost their network, even if their signaling socket has not noticed yet.
        """
        changes: list[tuple[str, bool]] = []
        for pid, member in self.members.items():
            count = sum(inlet.stats.received for inlet in member.inlets.values())
            if count != member.counted:
                member.counted, member.quiet, member.sending = count, 0, True
                if member.away:
                    member.away = False
                    changes.append((pid, False))
                continue
            member.quiet += 1
            if member.sending and not member.away and member.quiet >= SILENT_CHECKS:
                member.away = True
                changes.append((pid, True))
        return changes

    def _plan(self) -> None:
        """Work out, once per change of membership, which outlets each member's packets reach."""
        for pid, member in self.members.items():
            member.routes = {}
            for kind, inlet in member.inlets.items():
                outlets = [
                    v.showing[pid].outlet(kind)
                    for v in self.members.values()
                    if pid in v.showing and (kind == "audio" or v.video_on)
                ]
                for pt, codec in inlet.codec_by_pt.items():
                    member.routes[pt] = Route(inlet, codec == FORWARDED_CODECS[kind], outlets)

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
