"""Keypad digits (media/dtmf.py): RFC 4733 events once each, at their end; tones in the
sound (in-band) once each, through G.711 too, and not from voices or lone tones."""

import array
import math

from media.dtmf import HIGH, KEYPAD, LOW, InBand, TelephoneEvents
from media.phone_audio import FRAME, Decoding, Encoding


def event(code: int, end: bool, duration: int = 800) -> bytes:
    return bytes([code, (0x80 if end else 0) | 10]) + duration.to_bytes(2, "big")


def test_each_digit_is_taken_once_at_its_end() -> None:
    events = TelephoneEvents()
    got = ""
    for timestamp, code in ((1000, 4), (3000, 7), (5000, 11), (7000, 10)):
        for n in range(5):
            got += events.take(event(code, False, 160 * (n + 1)), timestamp)
        for _ in range(3):  # the end, sent three times
            got += events.take(event(code, True), timestamp)
    assert got == "47#*"


def test_short_packets_and_unknown_events_give_nothing() -> None:
    events = TelephoneEvents()
    assert events.take(b"\x01\x80", 1) == ""
    assert events.take(event(16, True), 2) == ""  # 16: not a keypad event
    assert events.take(event(9, True), 3) == "9"


def keyed(digits: str, on_ms: int = 60, off_ms: int = 60, under: float = 0.0) -> list[array.array]:
    """48 kHz frames of the digits' two tones, `on_ms` each with `off_ms` between, over a
    low 300 Hz tone at `under` (a voice in the room)."""
    rate = 48000
    freqs = {}
    for r, low in enumerate(LOW):
        for c, high in enumerate(HIGH):
            freqs[KEYPAD[r][c]] = (low, high)
    samples: list[float] = []
    for digit in digits:
        low, high = freqs[digit]
        samples += [6000 * (math.sin(2 * math.pi * low * t / rate)
                            + math.sin(2 * math.pi * high * t / rate))
                    for t in range(rate * on_ms // 1000)]  # fmt: skip
        samples += [0.0] * (rate * off_ms // 1000)
    samples += [0.0] * (FRAME - len(samples) % FRAME)
    noisy = [s + under * math.sin(2 * math.pi * 300 * t / rate) for t, s in enumerate(samples)]
    pcm = array.array("h", [int(max(-32768, min(32767, s))) for s in noisy])
    return [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]


def heard(frames: list[array.array]) -> str:
    detector = InBand()
    return "".join(detector.take(f) for f in frames)


def test_digits_played_as_tones_are_heard_once_each_even_through_g711() -> None:
    assert heard(keyed("4711#")) == "4711#"
    # As a phone sends them: G.711 u-law there and back.
    encoding, decoding = Encoding("pcmu/8000"), Decoding("pcmu/8000")
    through = [p for n, f in enumerate(keyed("90*5")) for x in encoding.encode(f)
               for p in decoding.decode(x, n * 160)]  # fmt: skip
    assert heard(through) == "90*5"
    assert heard(keyed("22", on_ms=100, off_ms=60)) == "22"  # the same digit twice


def test_voices_single_tones_short_blips_and_silence_are_not_digits() -> None:
    assert heard(keyed("8", on_ms=20)) == ""  # 20 ms: too short to count
    assert heard([array.array("h", bytes(2 * FRAME))] * 10) == ""
    voice = keyed("", under=9000) * 10
    assert heard(voice) == ""
    lone = array.array(
        "h", [int(8000 * math.sin(2 * math.pi * 697 * t / 48000)) for t in range(FRAME)]
    )
    assert heard([lone] * 5) == ""
    assert heard(keyed("3", under=2500)) == "3"  # a digit over a quiet voice still counts
