"""A phone leg's sound: the one place the server decodes and encodes media (docs/phone.md).

Everything in between is 20 ms of 48 kHz mono signed 16-bit samples (`Pcm`, 960 of them):
- the phone's RTP payloads (G.711 u-law or A-law at 8 kHz, or Opus) become such frames
  (`PhoneIn`), and such frames become the Opus the browsers receive (`ToBrowsers`);
- the browsers' Opus becomes such frames (`FromBrowser`, one per person), the others' are
  mixed (`mix`) and become the phone's payloads (`PhoneOut`).
Nothing here keeps sound longer than a frame, or writes it anywhere.
"""

from __future__ import annotations

import array
import fractions
import operator
from typing import Any, TypeAlias

import av
from aiortc.codecs.g711 import PcmaDecoder, PcmuDecoder
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.jitterbuffer import JitterFrame

RATE = 48000
FRAME = 960  # samples in 20 ms
TIME_BASE = fractions.Fraction(1, RATE)
Pcm: TypeAlias = "array.array[int]"  # of "h": FRAME samples, mono

DECODERS: dict[str, Any] = {
    "pcmu/8000": PcmuDecoder,
    "pcma/8000": PcmaDecoder,
    "opus/48000": OpusDecoder,
}
ENCODERS: dict[str, Any] = {"pcmu/8000": None, "pcma/8000": None, "opus/48000": OpusEncoder}
G711 = {"pcmu/8000": "pcm_mulaw", "pcma/8000": "pcm_alaw"}


def silence() -> Pcm:
    return array.array("h", bytes(2 * FRAME))


class Rechunk:
    """Audio frames of any rate and layout as `size`-sample mono s16 chunks at `rate`.

    The resampler's own delay (a few samples) would leave the first chunk short and hold
    every later one back by almost a whole chunk: the first output is padded at its start
    instead, so what comes out is late by those few samples only.
    """

    def __init__(self, rate: int, size: int) -> None:
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        self.size = size
        self.pending = array.array("h")
        self.primed = False

    def take(self, frames: list[Any]) -> list[Pcm]:
        for frame in frames:
            for out in self.resampler.resample(frame):
                self.pending.frombytes(bytes(out.planes[0])[: 2 * out.samples])
        if not self.primed and self.pending:
            self.primed = True
            short = -len(self.pending) % self.size
            self.pending = array.array("h", bytes(2 * short)) + self.pending
        chunks = []
        while len(self.pending) >= self.size:
            chunks.append(self.pending[: self.size])
            del self.pending[: self.size]
        return chunks


class Decoding:
    """RTP payloads of one codec, decoded into Pcm frames."""

    def __init__(self, codec: str) -> None:
        if codec not in DECODERS:
            raise ValueError(f"no decoder for {codec}")
        self.decoder = DECODERS[codec]()
        self.frames = Rechunk(RATE, FRAME)

    def decode(self, payload: bytes, timestamp: int) -> list[Pcm]:
        decoded = self.decoder.decode(JitterFrame(data=payload, timestamp=timestamp))
        return self.frames.take(decoded)


PhoneIn = Decoding  # the phone's G.711 (or Opus) payloads
FromBrowser = Decoding  # one browser's Opus payloads, as the router forwards them


class Encoding:
    """Pcm frames encoded into RTP payloads of one codec (one payload per 20 ms)."""

    def __init__(self, codec: str) -> None:
        if codec not in ENCODERS:
            raise ValueError(f"no encoder for {codec}")
        self.encoder = ENCODERS[codec]() if codec == "opus/48000" else None
        self.g711: Any = None
        if self.encoder is None:  # G.711: 20 ms (160 samples at 8 kHz) a payload
            self.g711 = av.CodecContext.create(G711[codec], "w")
            self.g711.format, self.g711.layout, self.g711.sample_rate = "s16", "mono", 8000
            self.narrow = Rechunk(8000, 160)
        # Opus is sent in stereo: the same sound both sides, so that a mono frame is not
        # made stereo at 3 dB less.
        self.stereo = codec == "opus/48000"
        self.pts = 0

    def encode(self, pcm: Pcm) -> list[bytes]:
        layout = "stereo" if self.stereo else "mono"
        frame = av.AudioFrame(format="s16", layout=layout, samples=FRAME)
        if self.stereo:
            both = array.array("h", bytes(4 * FRAME))
            both[0::2] = pcm
            both[1::2] = pcm
            frame.planes[0].update(both.tobytes())
        else:
            frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = RATE
        frame.pts = self.pts
        frame.time_base = TIME_BASE
        self.pts += FRAME
        if self.encoder is not None:
            payloads, _ = self.encoder.encode(frame)
            return [bytes(p) for p in payloads]
        assert self.g711 is not None
        out = []
        for chunk in self.narrow.take([frame]):
            narrow = av.AudioFrame(format="s16", layout="mono", samples=160)
            narrow.planes[0].update(chunk.tobytes())
            narrow.sample_rate = 8000
            out += [bytes(p) for p in self.g711.encode(narrow)]
        return out


PhoneOut = Encoding  # the others' sound, for the phone
ToBrowsers = Encoding  # the phone's voice, as Opus for the router


def mix(frames: list[Pcm]) -> Pcm:
    """The sum of several people's frames, held within 16 bits."""
    if not frames:
        return silence()
    if len(frames) == 1:
        return frames[0]
    total: list[int] = list(map(operator.add, frames[0], frames[1]))
    for frame in frames[2:]:
        total = list(map(operator.add, total, frame))
    if max(total) > 32767 or min(total) < -32768:  # rare: only then sample by sample
        total = [32767 if s > 32767 else -32768 if s < -32768 else s for s in total]
    return array.array("h", total)
