"""The disruption plan staff record with a call: what is accepted, cleaned or refused."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.plan import parse_plan
from signaling.protocol import MAX_NOTE_CHARS, DisruptionPlan, ProtocolError


def test_a_plan_is_read_with_its_note_cleaned() -> None:
    plan = parse_plan({"action": "wait", "minutes": 15, "note": "  we will\n\ttext\x07 you  "})
    assert plan == DisruptionPlan("wait", 15, "we will text you")
    assert parse_plan({}) == DisruptionPlan("staff-calls-back", 10, "")
    assert parse_plan({"action": "survivor-calls-back", "minutes": 60}).minutes == 60


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        "wait",
        {"action": "hang-up"},
        {"action": 3},
        {"minutes": 0},
        {"minutes": 61},
        {"minutes": True},
        {"minutes": "10"},
        {"note": "x" * (MAX_NOTE_CHARS + 1)},
        {"note": 5},
        {"who": "staff"},
    ],
    ids=repr,
)
def test_bad_plans_are_refused_with_a_reason(value: Any) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_plan(value)
    assert caught.value.code == "bad-plan" and caught.value.reason
