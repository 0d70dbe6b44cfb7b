"""RTP headers read and written as bytes, for forwarding without building packet objects."""

from __future__ import annotations

import struct
from typing import NamedTuple

FIXED = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC


class Header(NamedTuple):
    payload_type: int
    marker: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def payload_bounds(data: bytes, first: int) -> tuple[int, int]:
    """Where the payload of an RTP packet starts and ends, given its first byte.

    After the CSRCs and any header extension, and before any padding. An empty payload gives
    start == end, a malformed packet start > end.
    """
    start = 12 + 4 * (first & 0x0F)
    size = len(data)
    if first & 0x10:  # header extension
        if size < start + 4:
            return 1, 0
        start += 4 + 4 * ((data[start + 2] << 8) | data[start + 3])
    if first & 0x20:  # padding: the last byte says how much
        size -= data[-1]
    return start, size


def parse(data: bytes) -> Header | None:
    """The fields the router needs and the payload (without padding), or None if malformed."""
    if len(data) < 12:
        return None
    first, second, sequence, timestamp, ssrc = FIXED.unpack_from(data)
    if first >> 6 != 2:
        return None
    start, end = payload_bounds(data, first)
    if start > end:
        return None
    return Header(second & 0x7F, second >> 7, sequence, timestamp, ssrc, data[start:end])


def build(
    payload_type: int, marker: int, sequence: int, timestamp: int, ssrc: int, payload: bytes
) -> bytes:
    """A plain RTP packet: no CSRCs, no header extension, no padding."""
    return FIXED.pack(0x80, (marker << 7) | payload_type, sequence, timestamp, ssrc) + payload
