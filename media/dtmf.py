"""Keypad digits a phone sends: as RFC 4733 telephone-events in RTP (`TelephoneEvents`), or
as the two tones in the sound itself (`InBand`), for phones and trunks that send no events.

An event's digit is taken once, when it ends (the end bit; senders repeat the final packet
three times, all with the event's RTP timestamp).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DIGITS = "0123456789*#ABCD"


class TelephoneEvents:
    """Digits from the telephone-event payloads of one RTP stream, in order."""

    def __init__(self) -> None:
        self.ended: set[int] = set()  # RTP timestamps of events already taken
        self.order: list[int] = []

    def take(self, payload: bytes, timestamp: int) -> str:
        """The digit this packet ends, or "" (not the end, already taken, or not a digit)."""
        if len(payload) < 4 or not payload[1] & 0x80 or payload[0] >= len(DIGITS):
            return ""
        if timestamp in self.ended:
            return ""
        self.ended.add(timestamp)
        self.order.append(timestamp)
        if len(self.order) > 64:  # only the latest events can still be repeated
            self.ended.discard(self.order.pop(0))
        return DIGITS[payload[0]]


LOW = (697, 770, 852, 941)
HIGH = (1209, 1336, 1477, 1633)
KEYPAD = ("123A", "456B", "789C", "*0#D")  # rows: low tones; columns: high tones
NARROW = 8000  # digits are looked for at 8 kHz: every 6th sample of 48 kHz, averaged
STEP = 6
MIN_LEVEL = 200.0**2  # mean square below this (about -44 dBFS) is silence
SHARE = 0.6  # the two tones hold at least this much of the frame's energy
HOLD_FRAMES = 2  # 40 ms present before a digit counts


def tone_power(samples: Sequence[float], hz: int) -> float:
    """Goertzel: the power of `hz` in `samples` (8 kHz), scaled like the mean square."""
    coeff = 2 * math.cos(2 * math.pi * hz / NARROW)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    n = len(samples)
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2 / (n * n)


class InBand:
    """Digits played as tones in the sound itself, for phones that send no telephone-events.

    Fed 20 ms frames of 48 kHz mono samples (media/phone_audio.py); a digit counts once its
    two tones have held for 40 ms and then stopped, or changed.
    """

    def __init__(self) -> None:
        self.current = ""
        self.frames = 0
        self.taken = False

    def take(self, pcm: Sequence[int]) -> str:
        narrow = [sum(pcm[i : i + STEP]) / STEP for i in range(0, len(pcm) - STEP + 1, STEP)]
        return self.take_narrow(narrow)

    def take_narrow(self, samples: Sequence[float]) -> str:
        """The same for 20 ms at 8 kHz (G.711 decoded as it came)."""
        digit = self.digit_in(samples)
        if digit != self.current:
            self.current, self.frames, self.taken = digit, 0, False
        self.frames += 1
        if digit and not self.taken and self.frames >= HOLD_FRAMES:
            self.taken = True
            return digit
        return ""

    @staticmethod
    def digit_in(samples: Sequence[float]) -> str:
        if not samples:
            return ""
        energy = sum(x * x for x in samples) / len(samples)
        if energy < MIN_LEVEL:
            return ""
        low = [tone_power(samples, hz) for hz in LOW]
        high = [tone_power(samples, hz) for hz in HIGH]
        row, column = max(range(4), key=low.__getitem__), max(range(4), key=high.__getitem__)
        if low[row] + high[column] < SHARE * energy:
            return ""  # speech or music: the energy is elsewhere
        if min(low[row], high[column]) < 0.1 * max(low[row], high[column]):
            return ""  # one tone alone, or one much weaker (twist)
        return KEYPAD[row][column]
