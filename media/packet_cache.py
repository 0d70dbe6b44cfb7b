"""The last packets sent on one stream, by sequence number, to answer NACKs without the sender."""

from __future__ import annotations

DEFAULT_SIZE = 512  # about 1.5 s of 640x480 video


class PacketCache:
    """A ring of the most recent packets; an older packet is simply gone.

    Sequence numbers and packets sit in two parallel lists, so adding one (for every video
    packet sent) allocates nothing.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._sequences: list[int] = [-1] * size
        self._packets: list[bytes] = [b""] * size

    def add(self, sequence: int, packet: bytes) -> None:
        index = sequence % self.size
        self._sequences[index] = sequence
        self._packets[index] = packet

    def get(self, sequence: int) -> bytes | None:
        index = sequence % self.size
        if self._sequences[index] != sequence:
            return None
        return self._packets[index]
