"""A phone leg in a call's router: the phone's voice goes to everyone as Opus, and everyone
else's sound, mixed, goes to the phone (docs/phone.md, "Where each part runs").

The leg is a member of the router like any other. Its one inlet is audio: the phone's
sound, decoded and encoded as Opus in packets of the leg's own SSRC. Each of its outlets
is audio from one other person; instead of a connection's SRTP, its packets come to the
leg, which decodes them. Every 20 ms (`tick`) it mixes the latest frame of each and sends
the mix to the phone in the codec the phone agreed. It never takes video.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable

from media import rtpraw
from media.phone_audio import Decoding, Encoding, Pcm, mix
from media.router import FORWARDED_CODECS, Inlet, Outlet, Router, Slot

OPUS_PT = 111  # the payload type of the leg's own Opus, as the router reads it
QUEUED = 3  # frames kept per person (60 ms): any more, the oldest goes
JUMP = 0x1000  # sequence numbers further than this either way: a new stream
REORDER_DEPTH = 2  # packets of the phone's held back at most while one before them is late
TICK = 0.020  # seconds between mixes sent to the phone
PHONE_STEP = {"pcmu/8000": 160, "pcma/8000": 160, "opus/48000": 960}  # RTP clock per 20 ms


class Heard:
    """One other person's sound as the leg receives it: the 'wire' of one outlet."""

    def __init__(self) -> None:
        self.decoding = Decoding("opus/48000")
        self.frames: deque[Pcm] = deque(maxlen=QUEUED)

    def send_rtp(self, raw: bytes) -> None:
        packet = rtpraw.parse(raw)
        if packet is None or not packet.payload:
            return
        self.frames.extend(self.decoding.decode(packet.payload, packet.timestamp))


class Reorder:
    """The phone's packets in sequence order: one that comes early waits for those before it,
    for at most `depth` packets more (a packet lost is then skipped). In-order packets pass
    at once, so a clean trunk adds no delay; the browsers' own jitter buffers smooth timing."""

    def __init__(self, depth: int = REORDER_DEPTH) -> None:
        self.depth = depth
        self.expected: int | None = None
        self.held: dict[int, rtpraw.Header] = {}

    def put(self, packet: rtpraw.Header) -> list[rtpraw.Header]:
        sequence = packet.sequence
        expected = sequence if self.expected is None else self.expected
        ahead = (sequence - expected) & 0xFFFF
        if ahead >= 0x10000 - JUMP:  # older than what was let through: late, or sent twice
            return []
        if ahead > JUMP:  # far from where it was: the phone began a new stream
            expected, self.held = sequence, {}
        self.held[sequence] = packet
        out: list[rtpraw.Header] = []
        while True:
            while expected in self.held:
                out.append(self.held.pop(expected))
                expected = (expected + 1) & 0xFFFF
            if len(self.held) <= self.depth:
                self.expected = expected
                return out
            # Waited long enough: the missing one is lost; go on from the next held.
            start = expected
            expected = min(self.held, key=lambda s: (s - start) & 0xFFFF)


class Unsent:
    """The leg's video outlets: nothing is ever sent there."""

    def send_rtp(self, raw: bytes) -> None:
        return None


class PhoneLeg:
    def __init__(
        self,
        router: Router,
        pid: str,
        codec: str,
        payload_type: int,
        to_phone: Callable[[bytes], None],
        others: int,
    ) -> None:
        self.router, self.pid = router, pid
        self.phone_in, self.phone_out = Decoding(codec), Encoding(codec)
        self.reorder = Reorder()
        self.to_browsers = Encoding("opus/48000")
        self.to_phone = to_phone
        self.payload_type, self.step = payload_type, PHONE_STEP[codec]
        self.ssrc, self.phone_ssrc = random.getrandbits(32), random.getrandbits(32)
        self.sequence = self.phone_sequence = random.getrandbits(16)
        self.timestamp = self.phone_timestamp = random.getrandbits(32)
        self.heard: list[Heard] = []
        slots = []
        for n in range(others):
            heard = Heard()
            self.heard.append(heard)
            audio = Outlet("audio", f"pa{n}", random.getrandbits(32), OPUS_PT, heard)
            video = Outlet("video", f"pv{n}", random.getrandbits(32), 96, Unsent())
            slots.append(Slot(audio=audio, video=video))
        inlet = Inlet("audio", None, {OPUS_PT: FORWARDED_CODECS["audio"]}, random.getrandbits(32))
        router.add(pid, {"audio": inlet}, slots, wants_video=False)

    def from_phone(self, raw: bytes) -> None:
        """An RTP packet from the phone: its sound, to everyone in the call as Opus."""
        packet = rtpraw.parse(raw)
        if packet is None or packet.payload_type != self.payload_type or not packet.payload:
            return
        for ordered in self.reorder.put(packet):
            for pcm in self.phone_in.decode(ordered.payload, ordered.timestamp):
                for payload in self.to_browsers.encode(pcm):
                    self.sequence = (self.sequence + 1) & 0xFFFF
                    self.timestamp = (self.timestamp + 960) & 0xFFFFFFFF
                    header = rtpraw.FIXED.pack(
                        0x80, OPUS_PT, self.sequence, self.timestamp, self.ssrc
                    )
                    self.router.forward(self.pid, header + payload)

    def tick(self) -> None:
        """20 ms have passed: the others' sound, mixed, to the phone."""
        frames = [heard.frames.popleft() for heard in self.heard if heard.frames]
        for payload in self.phone_out.encode(mix(frames)):
            self.phone_sequence = (self.phone_sequence + 1) & 0xFFFF
            self.phone_timestamp = (self.phone_timestamp + self.step) & 0xFFFFFFFF
            header = rtpraw.FIXED.pack(
                0x80, self.payload_type, self.phone_sequence, self.phone_timestamp, self.phone_ssrc
            )
            self.to_phone(header + payload)

    def close(self) -> None:
        self.router.remove(self.pid)


class LegSocket(asyncio.DatagramProtocol):
    """A phone leg's local UDP socket in the media worker: the signaling process relays the
    phone's RTP to it and takes what it sends back (docs/phone.md). Sends go to whoever
    sent last, and every 20 ms the leg's mix goes out, on a clock that keeps its own time
    (a late tick is made up, never drifts)."""

    def __init__(self, make_leg: Callable[[Callable[[bytes], None]], PhoneLeg]) -> None:
        self.leg = make_leg(self.send)
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None
        self.clock: asyncio.TimerHandle | None = None
        self.next_tick = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        self.next_tick = loop.time() + TICK
        self.clock = loop.call_at(self.next_tick, self.tick)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.peer = (addr[0], addr[1])
        self.leg.from_phone(data)

    def send(self, raw: bytes) -> None:
        if self.transport is not None and self.peer is not None:
            self.transport.sendto(raw, self.peer)

    def tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.next_tick <= now:  # one mix per 20 ms that passed
            self.leg.tick()
            self.next_tick += TICK
        self.clock = loop.call_at(self.next_tick, self.tick)

    def close(self) -> None:
        if self.clock is not None:
            self.clock.cancel()
        if self.transport is not None:
            self.transport.close()
        self.leg.close()


async def open_leg_socket(
    make_leg: Callable[[Callable[[bytes], None]], PhoneLeg],
) -> tuple[LegSocket, int]:
    """A leg on a new socket of 127.0.0.1 (any free port); the socket and its port."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: LegSocket(make_leg), local_addr=("127.0.0.1", 0)
    )
    port: int = transport.get_extra_info("sockname")[1]
    return protocol, port
