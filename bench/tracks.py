"""Media tracks that hand aiortc pre-encoded packets at real-time pace."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
from aiortc import MediaStreamTrack

from bench.encoded import Clip
from bench.stamp import stamped


class EncodedTrack(MediaStreamTrack):
    """Loops a clip of encoded frames; aiortc only packetizes them (no encoder runs)."""

    def __init__(self, kind: str, clip: Clip, stamp: bool = True) -> None:
        super().__init__()
        self.kind = kind
        self.clip = clip
        self.stamp = stamp
        self.index = 0
        self.started: float | None = None
        self.time_base = fractions.Fraction(1, clip.clock_rate)

    async def recv(self) -> av.Packet:  # type: ignore[override,type-arg,unused-ignore]
        if self.started is None:
            self.started = time.monotonic()
        due = self.started + self.index * self.clip.seconds_per_frame
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = self.clip.frames[self.index % len(self.clip.frames)]
        packet = av.Packet(stamped(frame) if self.stamp else frame)
        packet.pts = self.index * self.clip.step
        packet.time_base = self.time_base
        self.index += 1
        return packet
