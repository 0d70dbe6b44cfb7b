"""The server's end of one participant's RTCPeerConnection: own media in, others' media out."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription, candidate_from_sdp

from media import rtpraw, twcc
from media.bandwidth import NO_LIMIT_BPS, remb
from media.errors import MediaError
from media.feedback_queue import FeedbackQueue
from media.port import MediaPorts
from media.router import FORWARDED_CODECS, Inlet, Outlet, Router, Slot
from media.stream_stats import empty_receiver_report
from media.tap import detach_receiver, detach_sender
from media.wire import Wire

logger = logging.getLogger(__name__)

MAX_MID_CHARS = 16  # what `streams` may carry as an m-line's mid (docs/protocol.md)


def keep_forwardable_codecs(transceiver: RTCRtpTransceiver) -> None:
    """Negotiate only the codec the router forwards for this kind (plus its RTX)."""
    wanted = FORWARDED_CODECS[transceiver.kind]
    kept = [c for c in transceiver._codecs if c.mimeType.lower() == wanted]
    if not kept:
        raise MediaError("unsupported-codec", f"the offer has no {wanted} for {transceiver.kind}")
    kept_pts = {c.payloadType for c in kept}
    rtx = [
        c
        for c in transceiver._codecs
        if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") in kept_pts
    ]
    transceiver._codecs = kept[:1] + [
        r for r in rtx if r.parameters.get("apt") == kept[0].payloadType
    ]


def check_offer(sdp: str) -> None:
    """Refuse, before touching the connection, an offer the router could not use."""
    try:
        description = SessionDescription.parse(sdp)
    except Exception:
        raise MediaError("bad-sdp", "the offer is not valid SDP") from None
    # A section of a kind aiortc does not know ("m=text", say) in the bundle leaves the others
    # without a transport: aiortc fails half-way, and later again on its own. A data channel
    # it knows (and the server leaves unused).
    if any(m.kind not in (*FORWARDED_CODECS, "application") for m in description.media):
        raise MediaError("bad-sdp", "the offer has a section that is not audio, video or data")
    media = [m for m in description.media if m.kind in FORWARDED_CODECS]
    if not media:
        raise MediaError("bad-sdp", "the offer has no audio or video section")
    for m in media:
        wanted = FORWARDED_CODECS[m.kind]
        if not any(c.mimeType.lower() == wanted for c in m.rtp.codecs):
            raise MediaError("unsupported-codec", f"the offer has no {wanted} for {m.kind}")


def transport_cc_id(offer: str) -> int | None:
    """The id the offer gives the transport-wide sequence number extension, if it offers it
    with an id the forwarding path can write (the one-byte form: 1 to 14)."""
    for line in offer.splitlines():
        if line.startswith("a=extmap:") and line.split()[1:2] == [twcc.URI]:
            ext_id = line[len("a=extmap:") :].split()[0].split("/")[0]
            if ext_id.isdigit() and 1 <= int(ext_id) <= 14:
                return int(ext_id)
    return None


def with_transport_cc(answer: str, ext_id: int) -> str:
    """The answer, with transport-cc (the header extension and the feedback) on every media
    section the server sends on.

    aiortc does not implement transport-cc, so it leaves it out of its answers; the server
    writes the RTP it forwards itself, numbers it, and reads the feedback (`media.twcc`).
    The browser's own sending is left as it was (REMB and receiver reports)."""
    sections = answer.split("\r\nm=")
    for i, section in enumerate(sections[1:], start=1):
        lines = section.split("\r\n")
        if "a=sendonly" not in lines and "a=sendrecv" not in lines:
            continue
        rtx = {
            ln.split()[0][len("a=rtpmap:") :]
            for ln in lines
            if ln.startswith("a=rtpmap:") and ln.split()[-1].lower().startswith("rtx/")
        }
        payload_types = [pt for pt in lines[0].split()[3:] if pt not in rtx]
        at = max(
            (n for n, ln in enumerate(lines) if ln.startswith(("a=extmap:", "a=mid:"))),
            default=len(lines) - 1,
        )
        lines.insert(at + 1, f"a=extmap:{ext_id} {twcc.URI}")
        for pt in payload_types:
            rtpmap = next(
                (n for n, ln in enumerate(lines) if ln.startswith(f"a=rtpmap:{pt} ")), None
            )
            if rtpmap is not None:
                lines.insert(rtpmap + 1, f"a=rtcp-fb:{pt} transport-cc")
        sections[i] = "\r\n".join(lines)
    return "\r\nm=".join(sections)


def codec_names(transceiver: RTCRtpTransceiver) -> dict[int, str]:
    return {
        c.payloadType: c.mimeType.lower() for c in transceiver._codecs if c.payloadType is not None
    }


@dataclass
class ServerPeer:
    """One participant's connection. The first offer fixes its slots; later offers renegotiate."""

    pid: str
    router: Router
    max_slots: int
    ports: MediaPorts  # the process's sockets, which every connection shares
    feedback: FeedbackQueue | None = None  # where transport-cc feedback waits (else: read at once)
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
    )
    wire: Wire | None = None
    inlets: dict[str, Inlet] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)
    _reports: asyncio.Task[None] | None = None
    _seen: set[int] = field(default_factory=set)
    _joined: bool = False
    broken: bool = False  # an offer was refused half-way: start afresh on the next one
    _inline: bool = False
    _twcc_id: int | None = None  # the transport-cc extension id, when negotiated
    # Held while an offer is answered: a close waits for it. Closed half-way, aiortc would
    # go on gathering and open an ICE socket that nothing ever closes.
    _busy: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def answer(self, sdp: str) -> str:
        """Take the browser's offer and return the server's answer."""
        async with self._busy:
            return await self._answer(sdp)

    async def _answer(self, sdp: str) -> str:
        check_offer(sdp)
        # aiortc may refuse an offer at any of the three steps (an m-line with no direction
        # fails only when answering, a moved data channel only when the answer is set).
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if any(len(t.mid or "") > MAX_MID_CHARS for t in self.pc.getTransceivers()):
                raise ValueError("an m-line's mid is too long to name its slot")
            self._share_ports()
            inlets, slots = self._wire_new_transceivers()
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except MediaError:
            raise
        except Exception as exc:  # aiortc raises ValueError, InvalidStateError, OperationError...
            # Refused after the offer was taken: this connection is half-changed, so the next
            # offer gets a fresh one (see MediaHub.offer).
            self.broken = self.pc.signalingState != "stable"
            if any(t.receiver.transport is None for t in self.pc.getTransceivers()):
                # aiortc took the offer half-way: some section has no transport, which its
                # own connecting task and its close() do not expect. This connection is done.
                self.broken = True
                settle_connect(self.pc)
            raise MediaError(
                "bad-sdp", f"the offer could not be used ({type(exc).__name__})"
            ) from None
        if not self._joined:
            self._joined = True
            self.inlets, self.slots = inlets, slots
            self._twcc_id = transport_cc_id(sdp)
            self.router.add(self.pid, inlets, slots, twcc_id=self._twcc_id)
            if self._twcc_id is not None and self.wire is not None:
                on_feedback = partial(self.router.transport_feedback, self.pid)
                self.wire.take_feedback(on_feedback, self.feedback)
            self.pc.on("connectionstatechange", self._on_state)
        local = str(self.pc.localDescription.sdp)
        # Renegotiation keeps the numbering of the first answer, and so its extension id.
        if self._twcc_id is not None and transport_cc_id(sdp) == self._twcc_id:
            return with_transport_cc(local, self._twcc_id)
        return local

    def _share_ports(self) -> None:
        """Gather on the process's ports, not on sockets of this connection's own."""
        for transceiver in self.pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport is not None:
                self.ports.attach(transport.transport.iceGatherer._connection)

    async def add_candidate(self, candidate: str, sdp_mid: str, sdp_mline_index: int) -> None:
        if self.pc.remoteDescription is None:
            raise MediaError("no-offer", "send an offer before ICE candidates")
        if not candidate:
            await self.pc.addIceCandidate(None)
            return
        text = candidate.split(":", 1)[1] if candidate.startswith("candidate:") else candidate
        try:
            parsed = candidate_from_sdp(text)
        except Exception:
            raise MediaError("bad-candidate", "the ICE candidate could not be parsed") from None
        if parsed.protocol.lower() != "udp":
            return  # the browser's active TCP candidates: the server only listens on TCP
        parsed.sdpMid = sdp_mid or None
        parsed.sdpMLineIndex = sdp_mline_index
        await self.pc.addIceCandidate(parsed)

    async def close(self) -> None:
        async with self._busy:
            if self._reports is not None:
                self._reports.cancel()
            self.router.remove(self.pid)
            try:
                await self.pc.close()
            except AttributeError:  # a section without a transport (see _answer)
                await stop_transports(self.pc)

    def _wire_new_transceivers(self) -> tuple[dict[str, Inlet], list[Slot]]:
        inlets: dict[str, Inlet] = {}
        pending: dict[str, list[Outlet]] = {"audio": [], "video": []}
        for t in self.pc.getTransceivers():
            if t.kind not in FORWARDED_CODECS:
                continue
            new = id(t) not in self._seen
            self._seen.add(id(t))
            if not new or self._joined:
                # A later offer renegotiates every m-line: keep the forwarded codec only, and
                # leave m-lines that were not there at first unused (slots are fixed).
                if new:
                    t.direction = "inactive"
                if t.direction != "inactive":
                    keep_forwardable_codecs(t)
                continue
            keep_forwardable_codecs(t)
            browser_sends = t._offerDirection in ("recvonly", "sendrecv")
            if browser_sends and t.kind not in inlets:
                inlet = Inlet(t.kind, t.receiver, codec_names(t), report_ssrc=t.sender._ssrc)
                detach_receiver(t.receiver, self._from_aiortc)
                inlets[t.kind] = inlet
                t.direction = "recvonly"
            elif t._offerDirection == "sendonly" and len(pending[t.kind]) < self.max_slots:
                outlet = Outlet(
                    t.kind,
                    t.mid or "",
                    t.sender._ssrc,
                    t._codecs[0].payloadType or 0,
                    self._wire_for(t.sender.transport),
                )
                pending[t.kind].append(outlet)
                t.direction = "sendonly"
            else:
                t.direction = "inactive"
        slots = [
            Slot(audio=a, video=v) for a, v in zip(pending["audio"], pending["video"], strict=False)
        ]
        for slot in slots:
            for outlet_kind in ("audio", "video"):
                sender = self._sender_for(slot.outlet(outlet_kind))
                detach_sender(sender, partial(self.router.feedback, self.pid, slot))
        return inlets, slots

    def _wire_for(self, dtls: Any) -> Wire:
        if self.wire is None:
            self.wire = Wire(dtls)
        return self.wire

    async def _from_aiortc(self, packet: RtpPacket) -> None:
        """Packets aiortc read before the inline path took over (the first moments)."""
        self.router.forward(
            self.pid,
            rtpraw.build(
                packet.payload_type,
                packet.marker,
                packet.sequence_number,
                packet.timestamp,
                packet.ssrc,
                packet.payload,
            ),
        )

    async def _send_reports(self, wire: Wire) -> None:
        """RTCP about our streams, about once a second (RFC 3550 spreads it 0.5x to 1.5x)."""
        while True:
            await asyncio.sleep(0.5 + random.random())
            outlets = [o for slot in self.slots for o in (slot.audio, slot.video)]
            compound = b"".join(o.sender_report() for o in outlets)
            compound += b"".join(i.receiver_report() for i in self.inlets.values())
            compound += self._bandwidth_request()
            # Something every round, even with nothing to report (no media either way): the
            # page judges its own network by whether anything comes from the server.
            wire.send_rtcp(compound or empty_receiver_report(self._reporter()))

    def _reporter(self) -> int:
        return int(self.pc.getTransceivers()[0].sender._ssrc)

    def _bandwidth_request(self) -> bytes:
        """A REMB asking this participant's video for what its viewers can take, or for as
        much as it likes when none is limited (a browser keeps the last REMB's limit)."""
        video = self.inlets.get("video")
        if video is None or video.ssrc is None:
            return b""
        target = self.router.target_for(self.pid, time.monotonic())
        return remb(video.report_ssrc, target or NO_LIMIT_BPS, [video.ssrc])

    def _sender_for(self, outlet: Outlet) -> Any:
        return next(t.sender for t in self.pc.getTransceivers() if t.mid == outlet.mid)

    async def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and not self._inline:
            self._inline = True
            transport = self.pc.getTransceivers()[0].receiver.transport
            wire = self._wire_for(transport)
            wire.receive_inline(partial(self.router.forward, self.pid))
            self._reports = asyncio.create_task(self._send_reports(wire))
            # A viewer that just connected needs a keyframe from everyone it shows.
            await self.router.refresh(self.pid)


def settle_connect(pc: RTCPeerConnection) -> None:
    """Cancel aiortc's connecting task of `pc`, or take its failure if it already failed, so
    a connection aiortc took half-way fails nowhere later (it would be logged as a task
    exception never retrieved)."""
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        name = getattr(coro, "__qualname__", "")
        if not name.endswith("__connect"):
            continue
        if frame is not None and frame.f_locals.get("self") is not pc:
            continue
        if task.done():
            if not task.cancelled():
                task.exception()
        else:
            task.cancel()


async def stop_transports(pc: RTCPeerConnection) -> None:
    """Stop every DTLS and ICE transport a connection holds (each once: they are bundled)."""
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is None or id(dtls) in seen:
            continue
        seen.add(id(dtls))
        await dtls.stop()
        await dtls.transport.stop()
