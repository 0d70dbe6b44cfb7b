"""RFC 4733 keypad digits (media/dtmf.py): once per event, at its end."""

from media.dtmf import TelephoneEvents


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
