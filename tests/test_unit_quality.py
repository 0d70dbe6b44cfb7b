"""Unit tests of media/quality.py and the staff's quality report (signaling/call.py)."""

import pytest

from media.quality import Quality, ntp_middle, round_trip_ms
from signaling.participant import Role
from signaling.protocol import Quality as QualityMessage
from signaling.protocol import QualityInfo
from signaling.store import CallRules, CallStore


def test_round_trip_from_a_receiver_report() -> None:
    sent = 1_800_000_000.0
    lsr = ntp_middle(sent)
    held = int(0.25 * 65536)  # the receiver held our report 250 ms
    rtt = round_trip_ms(lsr, held, sent + 0.33)
    assert rtt is not None and rtt == pytest.approx(80, abs=0.1)
    assert round_trip_ms(0, 0, sent) is None  # no sender report seen yet
    assert round_trip_ms(lsr, 0, sent - 10) is None  # a report from the future: nonsense


@pytest.mark.parametrize(
    ("quality", "level"),
    [
        (Quality(0.0, 40.0, 1500, paused=False, weak_link=False), "good"),
        (Quality(None, None, None, paused=False, weak_link=False), "good"),
        (Quality(0.05, 40.0, 1500, paused=False, weak_link=False), "weak"),
        (Quality(0.0, 650.0, 1500, paused=False, weak_link=False), "weak"),
        (Quality(0.0, 40.0, 180, paused=False, weak_link=False), "weak"),
        (Quality(0.0, 40.0, 1500, paused=True, weak_link=True), "weak"),
        (Quality(0.0, 40.0, 1500, paused=True, weak_link=False), "good"),  # audio by choice
    ],
)
def test_level(quality: Quality, level: str) -> None:
    assert quality.level == level


def test_staff_hear_of_everyone_else_only() -> None:
    store = CallStore(CallRules(max_participants=3))
    call = store.create("a", now=0)
    staff, _ = store.join_staff("a", call.id, now=1)
    token = next(t for t, r in call.invites.items() if r is Role.SURVIVOR)
    guest, _ = store.join_invite(token, "", now=2)
    seen = {
        staff.id: QualityInfo(staff.id, "good"),
        guest.id: QualityInfo(guest.id, "weak", 31, 80, 240, audio_only=True),
    }
    assert call.quality_report(seen) == []  # the guest is still in the lobby
    call.admit(staff.id, guest.id)
    events = call.quality_report(seen)
    assert [(e.to, e.message) for e in events] == [  # type: ignore[union-attr]
        (staff.id, QualityMessage([seen[guest.id]]))
    ]
