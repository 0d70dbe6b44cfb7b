"""Pre-packetized media sent at real-time pace, straight to the socket of each peer connection.

aiortc's own sender packetizes every frame and runs a task per track; with a hundred
simulated people that work takes the CPU the server under test needs. Here each clip is cut
into RTP payloads once, and one pacer per event loop sends every stream's due packets:
header, send-time stamp, SRTP, `sendto`.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
import weakref
from dataclasses import dataclass, field
from typing import Protocol

from bench.encoded import Clip
from bench.stamp import MAGIC, SIZE, stamped
from media import rtpraw
from media.wire import Wire

MAX_PAYLOAD = 1200
TICK = 0.002  # seconds between the pacer's rounds
MAX_BEHIND = 5  # frames a stalled stream may catch up on; older ones are skipped


def packetize(frame: bytes, kind: str) -> list[bytes]:
    """A frame's RTP payloads: an Opus frame whole; a VP8 frame cut after a payload
    descriptor (RFC 7741) whose S bit marks the frame's first packet."""
    if kind == "audio":
        return [frame]
    size = MAX_PAYLOAD - 1
    parts = [frame[i : i + size] for i in range(0, len(frame), size)] or [b""]
    return [(b"\x10" if n == 0 else b"\x00") + part for n, part in enumerate(parts)]


def vp8_descriptor_size(payload: bytes) -> int:
    """The length of a VP8 payload descriptor (RFC 7741, 4.2): one byte, or more with the
    extensions browsers send (picture id, TL0PICIDX, TID/KEYIDX); 0 if the payload is too
    short to hold the one it starts with."""
    if not payload:
        return 0
    size = 1
    if payload[0] & 0x80:  # X: an extension byte follows
        if len(payload) < 2:
            return 0
        extensions = payload[1]
        size = 2
        if extensions & 0x80:  # I: a picture id, 7 or 15 bits (M)
            if len(payload) <= size:
                return 0
            size += 2 if payload[size] & 0x80 else 1
        if extensions & 0x40:  # L: TL0PICIDX
            size += 1
        if extensions & 0x30:  # T or K: TID, Y, KEYIDX
            size += 1
    return size if size <= len(payload) else 0


@functools.lru_cache(maxsize=8)
def packetized(clip: Clip, kind: str) -> list[list[bytes]]:
    """Each frame's RTP payloads (see `packetize`), made once per clip."""
    return [packetize(frame, kind) for frame in clip.frames]


@dataclass
class Reassembler:
    """The frames in one stream of payloads as `packetize` or a browser cut them (the bench's
    send-time stamp taken off each), given each payload with its packet's marker bit (the
    last packet of a frame) and sequence number. A frame with a packet missing is left out."""

    kind: str
    _parts: list[bytes] | None = None
    _next: int = -1  # the sequence number the frame's next packet must have

    def add(self, payload: bytes, marker: bool, sequence: int) -> bytes | None:
        """The frame this payload ends, if it ends one."""
        if payload[-SIZE:-8] == MAGIC:
            payload = payload[:-SIZE]
        if self.kind == "audio":
            return payload if payload else None
        if not payload:
            return None  # padding
        descriptor = vp8_descriptor_size(payload)
        if not descriptor:
            self._parts = None
        elif payload[0] & 0x10:  # S: the first packet of a frame
            self._parts = []
        elif sequence != self._next:  # a packet of this frame went missing
            self._parts = None
        self._next = (sequence + 1) & 0xFFFF
        if self._parts is None:
            return None
        self._parts.append(payload[descriptor:])
        if not marker:
            return None
        frame, self._parts = b"".join(self._parts), None
        return frame


class FrameSealer(Protocol):
    """Seals each frame before it is sent (`bench.e2ee_frame.Sealer` and the like): None
    when it cannot yet (no key): then nothing is sent, as a page's worker sends nothing."""

    def seal(self, kind: str, frame: bytes) -> bytes | None: ...


@dataclass
class OutStream:
    """One sending m-line: a clip looped from the first frame, on the stream's SSRC."""

    wire: Wire
    clip: Clip
    kind: str
    ssrc: int
    payload_type: int
    started: float = field(default_factory=time.monotonic)
    frames: list[list[bytes]] = field(init=False)
    index: int = 0
    sequence: int = field(default_factory=lambda: random.randrange(1 << 16))
    timestamp: int = field(default_factory=lambda: random.randrange(1 << 32))
    packets: int = 0
    octets: int = 0
    sealer: FrameSealer | None = None  # end to end: each frame sealed as it is sent
    # Each payload ends with a send-time stamp (bench/stamp.py), which the bench's own
    # receivers take off; off for browsers, which would take it for part of the frame.
    stamp: bool = True

    def __post_init__(self) -> None:
        self.frames = packetized(self.clip, self.kind)

    def send_due(self, now: float) -> None:
        behind = int((now - self.started) / self.clip.seconds_per_frame) + 1 - self.index
        if behind > MAX_BEHIND:
            skipped = behind - MAX_BEHIND
            self.index += skipped
            self.timestamp = (self.timestamp + skipped * self.clip.step) % (1 << 32)
            behind = MAX_BEHIND
        for _ in range(max(0, behind)):
            self._send_frame()

    def _send_frame(self) -> None:
        at = self.index % len(self.frames)
        if self.sealer is None:
            payloads = self.frames[at]
        else:
            sealed = self.sealer.seal(self.kind, self.clip.frames[at])
            if sealed is None:  # no key yet: the frame is skipped
                self.index += 1
                self.timestamp = (self.timestamp + self.clip.step) % (1 << 32)
                return
            payloads = packetize(sealed, self.kind)
        last = len(payloads) - 1
        for n, payload in enumerate(payloads):
            body = stamped(payload) if self.stamp else payload
            marker = 0x80 if n == last else 0
            header = rtpraw.FIXED.pack(
                0x80, marker | self.payload_type, self.sequence, self.timestamp, self.ssrc
            )
            self.wire.send_rtp(header + body)
            self.sequence = (self.sequence + 1) % (1 << 16)
            self.packets += 1
            self.octets += len(body)
        self.index += 1
        self.timestamp = (self.timestamp + self.clip.step) % (1 << 32)


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()


class Pacer:
    """Sends the due packets of every stream of one event loop, every TICK."""

    def __init__(self) -> None:
        self.streams: list[OutStream] = []
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def of_running_loop(cls) -> Pacer:
        loop = asyncio.get_running_loop()
        pacer = _pacers.get(loop)
        if pacer is None:
            pacer = _pacers[loop] = Pacer()
        return pacer

    def add(self, stream: OutStream) -> None:
        self.streams.append(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    def remove(self, stream: OutStream) -> None:
        if stream in self.streams:
            self.streams.remove(stream)

    async def _run(self) -> None:
        while self.streams:
            now = time.monotonic()
            for stream in self.streams:
                stream.send_due(now)
            await asyncio.sleep(TICK)
