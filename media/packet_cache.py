"""The last packets sent on one stream, by sequence number, to answer NACKs without the sender."""

from __future__ import annotations

DEFAULT_SIZE = 512  # about 1.5 s of 640x480 video


class PacketCache:
    """A ring of the most recent packets; an older packet is simply gone."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._slots: list[tuple[int, bytes] | None] = [None] * size

    def add(self, sequence: int, packet: bytes) -> None:
        self._slots[sequence % self.size] = (sequence, packet)

    def get(self, sequence: int) -> bytes | None:
        entry = self._slots[sequence % self.size]
        if entry is None or entry[0] != sequence:
            return None
        return entry[1]
