"""A simulated participant: the staff API, the /ws signaling and one aiortc peer connection.

It signals the way a browser's page does, so tests and the bench exercise the server's real
paths; once connected it sends pre-encoded VP8 and Opus (`bench.sender`) and counts what it
receives, both straight on the connection's socket, without aiortc's per-track loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtp import RtpPacket

from bench.e2ee_frame import OVERHEAD, VERSION, FrameError, Opener, Sealer
from bench.e2ee_keys import CallKeys, Outgoing
from bench.encoded import Clip, opus_clip, vp8_clip
from bench.sender import FrameSealer, OutStream, Pacer, Reassembler
from bench.stamp import delay_ms
from media import rtpraw, twcc
from media.bandwidth import read_remb
from media.stream_stats import ReceivedStats
from media.tap import detach_receiver, detach_sender
from media.wire import Wire
from signaling.protocol import (
    Answer,
    E2eeFrom,
    E2eeSend,
    IceServer,
    Join,
    Joined,
    Leave,
    MediaRestart,
    Message,
    Offer,
    PeerJoined,
    PeerLeft,
    Streams,
    Waiting,
    parse_server_message,
)


def ssrc_to_mid(sdp: str) -> dict[int, str]:
    """Which m-line (mid) each SSRC announced in an SDP belongs to."""
    table: dict[int, str] = {}
    mid = ""
    for line in sdp.splitlines():
        if line.startswith("m="):
            mid = ""
        elif line.startswith("a=mid:"):
            mid = line[6:].strip()
        elif line.startswith("a=ssrc:") and mid:
            table[int(line[7:].split()[0])] = mid
    return table


CLIPS: dict[str, Callable[[], Clip]] = {"audio": opus_clip, "video": vp8_clip}


class StaffApi:
    """The staff HTTP API with a bearer token, as a script uses it."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.token = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def sign_in(self, name: str, password: str) -> None:
        async with self.session.post(
            f"{self.base}/api/token", json={"name": name, "password": password}
        ) as r:
            r.raise_for_status()
            self.token = (await r.json())["token"]

    async def create_call(self, plan: dict[str, Any] | None = None) -> dict[str, Any]:
        request = {} if plan is None else {"plan": plan}
        url = f"{self.base}/api/calls"
        async with self.session.post(url, json=request, headers=self.headers) as r:
            r.raise_for_status()
            body: dict[str, Any] = await r.json()
            return body

    async def end_call(self, call_id: str) -> None:
        async with self.session.delete(
            f"{self.base}/api/calls/{call_id}", headers=self.headers
        ) as r:
            r.raise_for_status()


TRANSPORT_CC_ID = 4  # aiortc's offers use 1 to 3
HEARD = 500  # audio payloads kept per mid when `heard` is on (10 s)
FEEDBACK_SECONDS = 0.1  # how often a browser sends transport-cc feedback, about


def offer_transport_cc(sdp: str, ext_id: int = TRANSPORT_CC_ID) -> str:
    """An aiortc offer with the transport-wide sequence number extension in every media
    section, as browsers offer it (aiortc does not; it ignores it in the answer)."""
    line = f"a=extmap:{ext_id} {twcc.URI}"
    return sdp.replace("\r\na=mid:", f"\r\n{line}\r\na=mid:")


@dataclass
class LinkFrames:
    """A page's worker, for a peer with the link secret: seals each frame under the call key
    its `CallKeys` seals under now (nothing while it has none; as it is while someone in the
    call cannot seal), and opens under the keys it holds now."""

    keys: CallKeys
    sender: int = field(default_factory=lambda: random.getrandbits(32))
    opener: Opener = field(default_factory=Opener)
    sealed: int = 0
    _sealer: Sealer | None = None

    def seal(self, kind: str, frame: bytes) -> bytes | None:
        if self.keys.clear:
            return frame
        now = self.keys.sealing()
        if now is None:
            return None
        epoch, key = now
        if self._sealer is None:
            self._sealer = Sealer(key, self.sender, epoch)
        elif (self._sealer.epoch, self._sealer.call_key) != now:
            self._sealer.rekey(key, epoch)  # a new key: counted from 0 again
        self.sealed += 1
        return self._sealer.seal(kind, frame)

    def update_opener(self) -> None:
        """Hold the call keys `keys` holds now, and no others."""
        held = self.keys.opening()
        for epoch in [e for e in self.opener.call_keys if e not in held]:
            self.opener.drop(epoch)
        for epoch, key in held.items():
            if self.opener.call_keys.get(epoch) != key:
                self.opener.hold(epoch, key)


@dataclass
class Participant:
    """One simulated person in a call. With `transport_cc`, it offers transport-wide
    congestion control and sends feedback on the packets the server numbers, as browsers do."""

    session: aiohttp.ClientSession
    base: str
    headers: dict[str, str] = field(default_factory=dict)
    ws: aiohttp.ClientWebSocketResponse | None = None
    pc: RTCPeerConnection | None = None
    inbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    seen: list[Message] = field(default_factory=list)
    packets: Counter[str] = field(default_factory=Counter)  # by mid
    octets: Counter[str] = field(default_factory=Counter)  # payload bytes, by mid
    delays_ms: list[float] = field(default_factory=list)  # send -> receive, stamped frames
    first_packet_at: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # mid -> kind
    streams: dict[str, str] = field(default_factory=dict)  # mid -> participant shown
    participant: str = ""
    outgoing: list[OutStream] = field(default_factory=list)
    incoming: dict[int, ReceivedStats] = field(default_factory=dict)  # by SSRC, for reports
    mid_of: dict[int, str] = field(default_factory=dict)  # SSRC received -> its m-line
    asked_bps: list[int] = field(default_factory=list)  # REMB limits the server sent
    wire: Wire | None = None
    transport_cc: bool = False
    arrivals: dict[int, int] = field(default_factory=dict)  # transport number -> arrival, us
    feedbacks: int = 0
    # End to end: with the call's key, every frame sent is sealed and every frame received
    # opened (bench/e2ee_frame.py); frames that opened, and that did not, by mid; `unkeyed`:
    # frames under a call key this peer does not hold (yet, or any more).
    e2ee_key: bytes | None = None
    opened: Counter[str] = field(default_factory=Counter)
    unopened: Counter[str] = field(default_factory=Counter)
    unkeyed: Counter[str] = field(default_factory=Counter)
    # Or end to end as the pages are, with the link secret (the fragment's part after the
    # dot, `bench.e2ee_keys.split_fragment`): keys agreed over signaling (`keys`), the call
    # key from staff (or made here, for staff), sealing and opening under the keys of now.
    link_secret: bytes | None = None
    keys: CallKeys | None = None
    # Each payload sent ends with a send-time stamp, for the bench's own receivers: off in a
    # call with browsers, whose depacketizers would take it for part of the frame.
    stamps: bool = True
    _sealer: FrameSealer | None = None
    _opener: Opener | None = None
    _link: LinkFrames | None = None
    _frames: dict[str, Reassembler] = field(default_factory=dict)  # by mid
    _inline: bool = False
    follow_restarts: bool = True  # answer media-restart with a new connection, as pages do
    # Audio payloads received, the latest by mid, for tests that listen to what came
    # (a phone's voice); None: not kept.
    heard: dict[str, deque[bytes]] | None = None
    _media_args: tuple[int, bool, tuple[IceServer, ...], bool] | None = None
    _restarts: list[asyncio.Future[None]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _reports: asyncio.Task[None] | None = None
    _feedback: asyncio.Future[None] | None = None

    def __post_init__(self) -> None:
        if self.link_secret is not None and self.keys is None:
            self.keys = CallKeys(self.link_secret)

    @property
    def seals(self) -> bool:
        """Whether this peer seals its media end to end (and says so at `join`)."""
        return self.e2ee_key is not None or self.link_secret is not None

    async def connect(self) -> None:
        url = self.base.replace("https://", "wss://").replace("http://", "ws://") + "/ws"
        self.ws = await self.session.ws_connect(url, headers=self.headers, max_msg_size=1 << 20)
        self._reader = asyncio.create_task(self._read())

    async def send(self, message: Message | str) -> None:
        assert self.ws is not None
        if isinstance(message, Join) and self.seals and not message.e2ee:
            message = dataclasses.replace(message, e2ee=True)  # as a page that seals says
        await self.ws.send_str(message if isinstance(message, str) else message.to_json())

    async def expect(self, kind: str, timeout: float = 10.0) -> Message:
        """The next message of type `kind` (others are kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind!r} message within {timeout} s")
            message = await asyncio.wait_for(self.inbox.get(), remaining)
            if message.type == kind:
                return message

    async def start_media(
        self,
        max_participants: int,
        send: bool = True,
        relays: Sequence[IceServer] = (),
        relay_only: bool = False,
        restart: bool = False,
    ) -> None:
        """Offer own audio and video plus receive slots for everyone else, as a browser does;
        through the TURN `relays` (from `joined`) only, with `relay_only`; `restart` when this
        connection replaces one whose media ended."""
        self._media_args = (max_participants, send, tuple(relays), relay_only)
        servers = [RTCIceServer(r.urls, r.username, r.credential) for r in relays]
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        pc = self.pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=servers,
                iceTransportPolicy=policy,
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            )
        )
        if send:
            pc.addTransceiver("audio", direction="sendonly")
            pc.addTransceiver("video", direction="sendonly")
        for _ in range(max_participants - 1):
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        sdp = offer_transport_cc(sdp) if self.transport_cc else sdp
        await self.send(Offer(sdp, restart=restart))
        answer = await self.expect("answer")
        assert isinstance(answer, Answer)
        await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        self.media_on_connect(answer.sdp)

    def media_on_connect(self, remote_sdp: str) -> None:
        """Detach aiortc's senders and receivers; once connected, send and count on the socket.

        Call after the local description is set; `remote_sdp` tells which SSRC is which m-line.
        """
        pc = self.pc
        assert pc is not None
        by_ssrc = self.mid_of = ssrc_to_mid(remote_sdp)
        sending: list[Any] = []
        for t in pc.getTransceivers():
            if t.mid is None:
                continue
            if "recv" in t.direction and t.mid not in self.kinds:
                self.kinds[t.mid] = t.kind
                detach_receiver(t.receiver, self._counter(t.mid))
            if "send" in t.direction:
                detach_sender(t.sender, self._on_rtcp)
                sending.append(t)

        def connected() -> None:
            if pc.connectionState != "connected" or self._inline:
                return
            self._inline = True
            wire = self.wire = Wire(pc.getTransceivers()[0].receiver.transport)
            wire.receive_inline(partial(self._count_raw, by_ssrc))
            reporter = pc.getTransceivers()[0].sender._ssrc
            self._reports = asyncio.ensure_future(self._send_reports(wire, reporter))
            if self.transport_cc:
                self._feedback = asyncio.ensure_future(self._send_feedback(wire, reporter))
            pacer = Pacer.of_running_loop()
            sealer = self._end_to_end()
            for t in sending:
                stream = OutStream(
                    wire, CLIPS[t.kind](), t.kind, t.sender._ssrc, t._codecs[0].payloadType
                )
                stream.sealer, stream.stamp = sealer, self.stamps
                self.outgoing.append(stream)
                pacer.add(stream)

        pc.on("connectionstatechange", connected)

    async def sent(self) -> tuple[int, int]:
        """Packets and payload bytes this participant has sent so far."""
        return sum(s.packets for s in self.outgoing), sum(s.octets for s in self.outgoing)

    def received(self, kind: str, participant: str) -> int:
        """Packets received of `kind` in the slot that shows `participant`."""
        return sum(
            n
            for mid, n in self.packets.items()
            if self.kinds.get(mid) == kind and self.streams.get(mid) == participant
        )

    async def restart_media(self) -> None:
        """A new connection in place of one whose media the server lost (`media-restart`),
        as the pages do: the same receive slots, counted on from where they were."""
        if self._media_args is None:
            return
        await self._stop_media()
        max_participants, send, relays, relay_only = self._media_args
        await self.start_media(max_participants, send, relays, relay_only, restart=True)

    async def _stop_media(self) -> None:
        pacer = Pacer.of_running_loop()
        for stream in self.outgoing:
            pacer.remove(stream)
        self.outgoing = []
        for periodic in (self._reports, self._feedback):
            if periodic is not None:
                periodic.cancel()
        self.arrivals = {}
        if self.pc is not None:
            await self.pc.close()
        self.kinds = {}
        self._inline = False

    async def close(self) -> None:
        """Hang up, as the page's leave button does (`leave`, then close), and stop media."""
        for task in self._restarts:
            task.cancel()
        pacer = Pacer.of_running_loop()
        for stream in self.outgoing:
            pacer.remove(stream)
        for periodic in (self._reports, self._feedback):
            if periodic is not None:
                periodic.cancel()
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send(Leave())
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def _end_to_end(self) -> FrameSealer | None:
        """This person's sealer (one for all their streams, kept across reconnections, so no
        counter comes twice under a key), and their opener: with the fixed call key, or with
        the keys agreed from the link secret."""
        if self._sealer is not None:
            return self._sealer
        if self.keys is not None:
            self._link = LinkFrames(self.keys)
            self._sealer, self._opener = self._link, self._link.opener
        elif self.e2ee_key is not None:
            self._sealer = Sealer(self.e2ee_key, sender=random.getrandbits(32))
            self._opener = Opener()
            self._opener.hold(0, self.e2ee_key)
        return self._sealer

    @property
    def sealed(self) -> int:
        """Frames sealed so far, by the link secret's keys."""
        return self._link.sealed if self._link is not None else 0

    def _open(self, mid: str, payload: bytes, marker: bool, sequence: int) -> None:
        """End to end: open each frame received once its last packet is in."""
        kind = self.kinds.get(mid)
        if self._opener is None or kind is None:
            return
        frames = self._frames.get(mid)
        if frames is None:
            frames = self._frames[mid] = Reassembler(kind)
        frame = frames.add(payload, marker, sequence)
        if frame is None:
            return
        if self._link is not None:
            self._link.update_opener()
        sealed = len(frame) >= OVERHEAD and frame[-1] == VERSION
        if sealed and frame[-2] not in self._opener.call_keys:  # its epoch's key: not held
            self.unkeyed[mid] += 1
            return
        try:
            self._opener.open(kind, frame)
        except FrameError:
            self.unopened[mid] += 1
        else:
            self.opened[mid] += 1

    def _counter(self, mid: str) -> Any:
        async def count(packet: RtpPacket) -> None:
            self._count(mid, packet.payload)
            self._open(mid, packet.payload, bool(packet.marker), packet.sequence_number)

        return count

    async def _on_rtcp(self, packet: Any) -> None:
        """The simulated sender loops its clip whatever it is told; REMB limits are noted."""
        bitrate = read_remb(packet)
        if bitrate is not None:
            self.asked_bps.append(bitrate)

    def _count_raw(self, by_ssrc: dict[int, str], data: bytes) -> None:
        if self.transport_cc and data[0] & 0x10:
            number = twcc.read_extension(data, TRANSPORT_CC_ID)
            if number is not None:
                self.arrivals[number] = time.monotonic_ns() // 1000
        packet = rtpraw.parse(data)
        if packet is not None and packet.ssrc in by_ssrc:
            stats = self.incoming.get(packet.ssrc)
            if stats is None:
                stats = self.incoming[packet.ssrc] = ReceivedStats()
            stats.received_packet(packet.ssrc, packet.sequence)  # padding counts too
            self._count(by_ssrc[packet.ssrc], packet.payload)
            if self._opener is not None:
                mid = by_ssrc[packet.ssrc]
                self._open(mid, packet.payload, bool(packet.marker), packet.sequence)

    async def _send_reports(self, wire: Wire, reporter: int) -> None:
        """Receiver reports about every stream received, once a second, as browsers send:
        the server learns from them how much of its video is lost."""
        while True:
            await asyncio.sleep(1.0)
            compound = b"".join(s.receiver_report(reporter) for s in self.incoming.values())
            if compound:
                wire.send_rtcp(compound)

    async def _send_feedback(self, wire: Wire, reporter: int) -> None:
        """Transport-cc feedback on what arrived since the last, every 100 ms (numbers in
        between that did not arrive are reported lost)."""
        count = 0
        while True:
            await asyncio.sleep(FEEDBACK_SECONDS)
            arrived, self.arrivals = self.arrivals, {}
            if not arrived:
                continue
            first = next(iter(arrived))
            numbers = sorted(arrived, key=lambda n: (n - first + 0x8000) & 0xFFFF)
            base, span = numbers[0], (numbers[-1] - numbers[0]) & 0xFFFF
            report = [arrived.get((base + i) & 0xFFFF) for i in range(span + 1)]
            wire.send_rtcp(twcc.build(reporter, 0, base, count, report))
            count, self.feedbacks = (count + 1) & 0xFF, self.feedbacks + 1

    def _count(self, mid: str, payload: bytes) -> None:
        if payload:
            if self.heard is not None and self.kinds.get(mid) == "audio":
                self.heard.setdefault(mid, deque(maxlen=HEARD)).append(payload)
            self.packets[mid] += 1
            self.octets[mid] += len(payload)
            self.first_packet_at.setdefault(mid, time.monotonic())
            delay = delay_ms(payload)
            if delay is not None:
                self.delays_ms.append(delay)

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = parse_server_message(msg.data)
            if isinstance(message, Joined | Waiting):
                self.participant = message.participant
            if isinstance(message, Streams):
                self.streams = dict(message.slots)
            if self.keys is not None:
                for to, data in self._keys_on(message):
                    await self.send(E2eeSend(to, data))
            self.seen.append(message)
            if isinstance(message, MediaRestart) and self.follow_restarts:
                self._restarts.append(asyncio.ensure_future(self.restart_media()))
                continue  # handled here: the answer it waits for comes through the inbox
            await self.inbox.put(message)

    def _keys_on(self, message: Message) -> list[Outgoing]:
        """What the link secret's keys make of a signaling message: `e2ee` messages to send."""
        assert self.keys is not None
        if isinstance(message, Joined) and not message.echo:
            return self.keys.enter(message.participant, message.role, message.peers)
        if isinstance(message, PeerJoined):
            return self.keys.peer_joined(message.peer)
        if isinstance(message, PeerLeft):
            return self.keys.peer_left(message.participant)
        if isinstance(message, E2eeFrom):
            return self.keys.receive(message.participant, message.data)
        return []
