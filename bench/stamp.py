"""Send-time stamps carried at the end of each encoded frame, to time the trip through the server.

Sender and receiver are in the same bench process, so one monotonic clock times both ends.
The server forwards payloads untouched, so the stamp arrives as it was sent.
"""

from __future__ import annotations

import struct
import time

MAGIC = b"QRst"
SIZE = len(MAGIC) + 8


def stamped(frame: bytes) -> bytes:
    return frame + MAGIC + struct.pack("!Q", time.monotonic_ns())


def delay_ms(payload: bytes) -> float | None:
    """Milliseconds since the frame this payload ends was stamped, or None if not stamped."""
    if len(payload) < SIZE or payload[-SIZE:-8] != MAGIC:
        return None
    sent: int = struct.unpack("!Q", payload[-8:])[0]
    return (time.monotonic_ns() - sent) / 1e6
