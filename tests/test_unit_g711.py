"""Unit tests of media/g711.py, the plain-Python G.711 of the signaling process, against
FFmpeg's (PyAV's pcm_mulaw and pcm_alaw)."""

import array
import math

import av
import pytest

from media import g711

CODECS = {"pcmu/8000": "pcm_mulaw", "pcma/8000": "pcm_alaw"}


def ffmpeg_decode(name: str, payload: bytes) -> list[int]:
    decoder = av.CodecContext.create(name, "r")
    decoder.layout, decoder.sample_rate = "mono", 8000
    out: list[int] = []
    for frame in decoder.decode(av.Packet(payload)):
        out += array.array("h", bytes(frame.planes[0])[: 2 * frame.samples]).tolist()
    return out


@pytest.mark.parametrize("codec", CODECS)
def test_every_byte_decodes_as_ffmpeg_decodes_it(codec: str) -> None:
    every = bytes(range(256))
    assert g711.decode(codec, every) == ffmpeg_decode(CODECS[codec], every)


def ffmpeg_encode(name: str, samples: list[int]) -> bytes:
    encoder = av.CodecContext.create(name, "w")
    encoder.format, encoder.layout, encoder.sample_rate = "s16", "mono", 8000
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
    frame.planes[0].update(array.array("h", samples).tobytes())
    frame.sample_rate = 8000
    return b"".join(bytes(p) for p in encoder.encode(frame))


@pytest.mark.parametrize("codec", CODECS)
def test_every_sample_encodes_to_ffmpegs_level_or_the_one_next_to_it(codec: str) -> None:
    """Both pick one of the two levels around a value; at the edge between them they may
    round apart, never by more than one level."""
    samples = list(range(-32768, 32768))
    ours = g711.encode(codec, samples)
    theirs = ffmpeg_encode(CODECS[codec], samples)
    assert len(ours) == len(theirs) == len(samples)
    levels = sorted(set(g711.DECODE[codec]))
    rank = {level: n for n, level in enumerate(levels)}
    table = g711.DECODE[codec]
    apart = [abs(rank[table[a]] - rank[table[b]]) for a, b in zip(ours, theirs, strict=True)]
    assert max(apart) <= 1
    assert sum(apart) < len(samples) // 50  # and they agree on nearly every value


def test_a_tone_comes_back_at_its_level() -> None:
    samples = [round(8000 * math.sin(2 * math.pi * 1000 * n / 8000)) for n in range(160)]
    for codec in CODECS:
        back = g711.decode(codec, g711.encode(codec, samples))
        error = math.sqrt(sum((a - b) ** 2 for a, b in zip(samples, back, strict=True)) / 160)
        assert error < 8000 * 0.05, codec  # G.711's error is a few percent of the level


def test_out_of_range_samples_are_held_at_the_ends() -> None:
    for codec in CODECS:
        assert g711.encode(codec, [40000, -40000]) == g711.encode(codec, [32767, -32768])
