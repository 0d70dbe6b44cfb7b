"""Pre-encoded VP8 video and Opus audio, made once per process, so a run never encodes."""

from __future__ import annotations

import fractions
import functools
import math
from dataclasses import dataclass

import av

VIDEO_RATE = 90000
AUDIO_RATE = 48000
FPS = 30
OPUS_SAMPLES = 960  # 20 ms


@dataclass(frozen=True)
class Clip:
    """Encoded frames that loop: the first is a keyframe, each lasts `step` clock ticks."""

    frames: tuple[bytes, ...]
    clock_rate: int
    step: int
    seconds_per_frame: float


@functools.lru_cache(maxsize=4)
def vp8_clip(width: int = 640, height: int = 480, frames: int = 60, kbps: int = 450) -> Clip:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.bit_rate = kbps * 1000
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "g": str(frames),
        "lag-in-frames": "0",
    }
    out: list[bytes] = []
    for i in range(frames):
        frame = av.VideoFrame(width, height, "yuv420p")
        for n, plane in enumerate(frame.planes):
            # A moving gradient: enough detail for realistic packet sizes.
            row = bytes(((x + 4 * i) * (3 if n == 0 else 1)) % 256 for x in range(plane.line_size))
            plane.update(row * plane.height)
        frame.pts = i
        frame.time_base = codec.time_base
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    return Clip(tuple(out[:frames]), VIDEO_RATE, VIDEO_RATE // FPS, 1 / FPS)


@functools.lru_cache(maxsize=2)
def opus_clip(frames: int = 50, hz: float = 440.0) -> Clip:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_RATE
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32000
    out: list[bytes] = []
    for i in range(frames + 4):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=OPUS_SAMPLES)
        samples = bytearray()
        for s in range(OPUS_SAMPLES):
            t = (i * OPUS_SAMPLES + s) / AUDIO_RATE
            v = int(6000 * math.sin(2 * math.pi * hz * t)).to_bytes(2, "little", signed=True)
            samples += v + v
        frame.planes[0].update(bytes(samples))
        frame.sample_rate = AUDIO_RATE
        frame.pts = i * OPUS_SAMPLES
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        out += [bytes(p) for p in codec.encode(frame)]
    return Clip(tuple(out[:frames]), AUDIO_RATE, OPUS_SAMPLES, OPUS_SAMPLES / AUDIO_RATE)
