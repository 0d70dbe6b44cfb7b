"""Unit tests of server/dial_in.py's sound before a phone's leg takes over: the tones it plays
and the keypad tones it reads, in G.711 (plain Python) and in Opus (PyAV, for trunks that
offer it)."""

import math

import pytest

from media import g711
from media.dtmf import HIGH, KEYPAD, LOW, InBand
from media.phone_audio import Decoding
from server.dial_in import FRAME, GOODBYE, PROMPT, WRONG, Sound, tone


def keypad(digit: str, frames: int = 5) -> list[list[int]]:
    row = next(r for r, keys in enumerate(KEYPAD) if digit in keys)
    low, high = LOW[row], HIGH[KEYPAD[row].index(digit)]
    samples = [round(5000 * (math.sin(2 * math.pi * low * n / 8000)
                             + math.sin(2 * math.pi * high * n / 8000)))
               for n in range(frames * FRAME)]  # fmt: skip
    return [samples[i : i + FRAME] for i in range(0, len(samples), FRAME)] + [[0] * FRAME] * 3


def test_the_tones_last_as_written_and_start_and_end_quietly() -> None:
    for pieces in (PROMPT, WRONG, GOODBYE):
        frames = tone(pieces)
        ms = sum(length for _, length in pieces)
        assert len(frames) == -(-ms // 20) and all(len(f) == FRAME for f in frames)
        flat = [s for f in frames for s in f]
        assert abs(flat[0]) < 300 and max(abs(s) for s in flat) > 4000


@pytest.mark.parametrize("codec", ["pcmu/8000", "pcma/8000", "opus/48000"])
def test_keypad_tones_in_the_sound_are_read_and_the_prompt_is_sent(codec: str) -> None:
    sound = Sound(codec)
    inband = InBand()
    read = ""
    timestamp = 0
    for digit in "1590#":
        for frame in keypad(digit):
            for payload in sound.encode(frame):
                read += sound.digit(payload, timestamp, inband)
                timestamp += sound.step
    assert read == "1590#"
    payloads = [p for frame in tone(PROMPT) for p in sound.encode(frame)]
    assert len(payloads) == len(tone(PROMPT))
    if codec == "opus/48000":
        decoding = Decoding(codec)
        samples = [
            s for n, p in enumerate(payloads) for pcm in decoding.decode(p, n * 960) for s in pcm
        ]
    else:
        samples = [s for p in payloads for s in g711.decode(codec, p)]
    assert max(abs(s) for s in samples) > 3000


def test_the_signaling_process_takes_phones_without_loading_the_media_stack() -> None:
    """With media workers (the default), the signaling process never loads aiortc or PyAV:
    the dial-in's G.711 is plain Python, and Opus is loaded only for a trunk that sends it."""
    import subprocess
    import sys

    probe = (
        "import sys, server.cli, server.app, server.dial_in\n"
        "print(sorted(m for m in ('av', 'aiortc', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
