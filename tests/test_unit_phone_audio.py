"""A phone leg's sound (media/phone_audio.py): G.711 both ways and Opus both ways keep a
tone's pitch and level, say how much delay each adds, and the mix holds everyone."""

from __future__ import annotations

import array

import numpy as np
import pytest

from media.phone_audio import FRAME, RATE, Decoding, Encoding, mix, silence


def tone(hz: float, frames: int, level: float = 8000.0) -> list[array.array]:
    t = np.arange(frames * FRAME) / RATE
    wave = (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [array.array("h", wave[i * FRAME : (i + 1) * FRAME].tobytes()) for i in range(frames)]


def through(codec: str, frames: list[array.array]) -> np.ndarray:
    """Encode then decode every frame, as a phone leg does one way."""
    encoding, decoding = Encoding(codec), Decoding(codec)
    out: list[array.array] = []
    step = 160 if codec != "opus/48000" else 960  # RTP timestamp units per 20 ms
    for n, pcm in enumerate(frames):
        for payload in encoding.encode(pcm):
            out += decoding.decode(payload, n * step)
    return np.concatenate([np.frombuffer(p.tobytes(), np.int16) for p in out]).astype(float)


def peak_hz(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / RATE)[np.argmax(spectrum)])


def burst(frames: int = 30) -> list[array.array]:
    """Silence, 40 ms of 800 Hz under a Hann window at 200 ms, silence: a moment to find."""
    signal = np.zeros(frames * FRAME)
    start, width = int(0.2 * RATE), int(0.04 * RATE)
    t = np.arange(width) / RATE
    signal[start : start + width] = 12000 * np.hanning(width) * np.sin(2 * np.pi * 800 * t)
    pcm = signal.astype(np.int16)
    return [array.array("h", pcm[i * FRAME : (i + 1) * FRAME].tobytes()) for i in range(frames)]


def loudest_ms(signal: np.ndarray) -> float:
    """When the 5 ms energy envelope peaks."""
    window = int(0.005 * RATE)
    envelope = np.convolve(signal**2, np.ones(window), mode="same")
    return float(np.argmax(envelope)) / RATE * 1000


def delay_ms(codec: str) -> float:
    """How much later the burst comes out than it went in, in real time: where it lies in
    what came out, plus what was still held back when the last frame went in."""
    frames = burst()
    sent = np.concatenate([np.frombuffer(f.tobytes(), np.int16) for f in frames]).astype(float)
    got = through(codec, frames)
    held = (len(sent) - len(got)) / RATE * 1000
    return loudest_ms(got) - loudest_ms(sent) + held


@pytest.mark.parametrize("codec", ["pcmu/8000", "pcma/8000", "opus/48000"])
def test_a_tone_keeps_its_pitch_and_level_and_the_delay_is_known(codec: str) -> None:
    frames = tone(440, 50)
    sent = np.concatenate([np.frombuffer(f.tobytes(), np.int16) for f in frames]).astype(float)
    got = through(codec, frames)
    assert len(got) >= len(sent) - 3 * FRAME  # at most a few frames held back
    steady = got[len(got) // 2 :]
    assert abs(peak_hz(steady) - 440) < 10
    rms = np.sqrt(np.mean(steady**2))
    assert 0.8 * 8000 / np.sqrt(2) < rms < 1.2 * 8000 / np.sqrt(2), rms
    delay = delay_ms(codec)
    print(f"\n{codec}: {delay:.1f} ms added by encoding and decoding one way")
    assert delay < 30


def test_each_payload_is_20_ms_of_g711() -> None:
    encoding = Encoding("pcmu/8000")
    payloads = [p for pcm in tone(440, 10) for p in encoding.encode(pcm)]
    assert len(payloads) >= 9 and {len(p) for p in payloads} == {160}


def test_the_mix_holds_everyone_and_stays_within_16_bits() -> None:
    low, high = tone(300, 1)[0], tone(1200, 1)[0]
    both = np.frombuffer(mix([low, high]).tobytes(), np.int16).astype(float)
    spectrum = np.abs(np.fft.rfft(both))
    bins = np.fft.rfftfreq(FRAME, 1 / RATE)
    for hz in (300, 1200):
        assert spectrum[np.argmin(abs(bins - hz))] > 0.3 * spectrum.max()
    loud = tone(300, 1, level=30000)[0]
    clipped = mix([loud, loud, loud])
    assert max(clipped) == 32767 and min(clipped) == -32768
    assert mix([]) == silence() and mix([low]) is low


def test_unknown_codecs_are_refused() -> None:
    with pytest.raises(ValueError, match="no decoder"):
        Decoding("g722/8000")
    with pytest.raises(ValueError, match="no encoder"):
        Encoding("gsm/8000")


def test_the_phone_leg_bench_reports_its_cpu() -> None:
    from bench.phone_leg import run

    figures = run(seconds=1, others=2, codec="pcma/8000")
    assert figures["frames"] == 50 and 0 < figures["share_of_a_core"] < 1
