"""The disruption plan of a call: checked once, when staff create the call.

The guide asks for a plan of action for video call drops: whether the survivor or the
worker calls back, how long they wait, and how to follow up otherwise. Staff record it with
the call; the survivor sees it before joining and again if the call drops.
"""

from __future__ import annotations

from typing import Any

from signaling.protocol import (
    MAX_NOTE_CHARS,
    MAX_PLAN_MINUTES,
    PLAN_ACTIONS,
    DisruptionPlan,
    ProtocolError,
    build,
)


def clean_note(text: str) -> str:
    """A note as typed, with control characters removed and runs of spaces made one."""
    spaced = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in text)
    return " ".join(spaced.split())[:MAX_NOTE_CHARS]


def parse_plan(value: Any) -> DisruptionPlan:
    """A plan from JSON (an object with action, minutes and note); raises ProtocolError."""
    if not isinstance(value, dict):
        raise ProtocolError("bad-plan", "the plan must be an object")
    try:
        plan = build(DisruptionPlan, value)
    except ProtocolError as exc:
        raise ProtocolError("bad-plan", exc.reason) from None
    if plan.action not in PLAN_ACTIONS:
        raise ProtocolError("bad-plan", f"plan.action must be one of {', '.join(PLAN_ACTIONS)}")
    if not 1 <= plan.minutes <= MAX_PLAN_MINUTES:
        raise ProtocolError("bad-plan", f"plan.minutes must be from 1 to {MAX_PLAN_MINUTES}")
    return DisruptionPlan(plan.action, plan.minutes, clean_note(plan.note))
