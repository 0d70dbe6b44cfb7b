"""RTP headers read in place: CSRCs, header extensions and padding around the payload."""

from __future__ import annotations

import struct

from media import rtpraw


def packet(csrcs: int = 0, extension: bytes = b"", padding: int = 0) -> bytes:
    first = 0x80 | csrcs | (0x10 if extension else 0) | (0x20 if padding else 0)
    head = rtpraw.FIXED.pack(first, 96, 7, 9000, 1234) + b"\0\0\0\1" * csrcs
    if extension:
        head += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    tail = bytes(padding - 1) + bytes([padding]) if padding else b""
    return head + b"payload" + tail


def test_payload_is_found_after_csrcs_and_extension_and_before_padding() -> None:
    data = packet(csrcs=2, extension=b"\x10\xff\0\0" * 2, padding=4)
    start, end = rtpraw.payload_bounds(data, data[0])
    assert data[start:end] == b"payload"
    parsed = rtpraw.parse(data)
    assert parsed is not None and parsed.payload == b"payload" and parsed.sequence == 7


def test_a_plain_packet_round_trips() -> None:
    data = rtpraw.build(111, 1, 65535, 4294967295, 42, b"opus")
    assert rtpraw.parse(data) == rtpraw.Header(111, 1, 65535, 4294967295, 42, b"opus")


def test_truncated_or_lying_headers_give_no_payload() -> None:
    whole = packet(extension=b"\0\0\0\0")
    assert rtpraw.parse(whole[:14]) is None  # the extension header is cut off
    lying = bytearray(whole)
    lying[14:16] = b"\xff\xff"  # claims a 256 KiB extension
    assert rtpraw.parse(bytes(lying)) is None
    padded = bytearray(packet(padding=1))
    padded[-1] = 200  # more padding than the packet holds
    assert rtpraw.parse(bytes(padded)) is None
    assert rtpraw.parse(b"\x40" + bytes(11)) is None  # RTP version 1
