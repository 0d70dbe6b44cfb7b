"""Keypad digits a phone sends as RFC 4733 telephone-events in RTP.

A digit is taken once, when its event ends (the end bit; senders repeat the final packet
three times, all with the event's RTP timestamp).
"""

from __future__ import annotations

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
