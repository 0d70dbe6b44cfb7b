"""G.711 u-law and A-law (ITU-T G.711) in plain Python, for the part of a phone call the
signaling process handles itself: the tones it plays while a code is awaited, and the keypad
tones it listens for (docs/phone.md). The call's sound itself goes through the media worker's
codecs (media/phone_audio.py); this module keeps PyAV out of the signaling process.

Samples are signed 16-bit at 8 kHz.
"""

from __future__ import annotations

from collections.abc import Iterable

ALAW_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)  # 13-bit segment ends
ULAW_BIAS, ULAW_CLIP = 0x84, 32635


def ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    exponent, mantissa = (byte >> 4) & 0x07, byte & 0x0F
    magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS
    return -magnitude if byte & 0x80 else magnitude


def alaw_to_linear(byte: int) -> int:
    byte ^= 0x55
    exponent, mantissa = (byte >> 4) & 0x07, byte & 0x0F
    step = (mantissa << 4) + (8 if exponent == 0 else 0x108)
    magnitude = step << (exponent - 1) if exponent else step
    return magnitude if byte & 0x80 else -magnitude


def linear_to_ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, ULAW_CLIP) + ULAW_BIAS
    exponent = max(magnitude.bit_length() - 8, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def linear_to_alaw(sample: int) -> int:
    value = sample >> 3  # 13 bits
    if value >= 0:
        mask = 0xD5
    else:
        mask, value = 0x55, -value - 1
    segment = next((n for n, end in enumerate(ALAW_ENDS) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    low = (value >> 1) if segment < 2 else (value >> segment)
    return ((segment << 4) | (low & 0x0F)) ^ mask


DECODE = {
    "pcmu/8000": [ulaw_to_linear(b) for b in range(256)],
    "pcma/8000": [alaw_to_linear(b) for b in range(256)],
}
ENCODE = {"pcmu/8000": linear_to_ulaw, "pcma/8000": linear_to_alaw}


def decode(codec: str, payload: bytes) -> list[int]:
    """A G.711 payload as 16-bit samples."""
    table = DECODE[codec]
    return [table[b] for b in payload]


def encode(codec: str, samples: Iterable[int]) -> bytes:
    """16-bit samples as a G.711 payload."""
    one = ENCODE[codec]
    return bytes(one(max(-32768, min(32767, s))) for s in samples)
