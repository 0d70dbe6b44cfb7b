"""Unit tests of contact hours on calls (signaling/call.py, signaling/store.py): links opened
before, inside and after the hours or a call's own window, practice calls, staff opening a
call anyway, and the reminder before the hours end. Time is passed in."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from signaling.events import Send
from signaling.hours import Window, parse_hours
from signaling.participant import Role
from signaling.protocol import HoursEnding, OutsideHours, ProtocolError
from signaling.store import CallRules, CallStore

TORONTO = ZoneInfo("America/Toronto")
STAFF = "river.staff"
HOURS = parse_hours({"time_zone": "America/Toronto", "monday": ["09:00-17:00"]})


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TORONTO).timestamp()


def utc(text: str) -> str:
    """A Toronto wall-clock time as pages receive it: ISO 8601 in UTC."""
    return dt.datetime.fromtimestamp(at(text), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store() -> CallStore:
    return CallStore(CallRules(ttl_seconds=30 * 24 * 3600, hours=HOURS))


def link(store: CallStore, **kwargs: object) -> str:
    call = store.create(STAFF, at("2026-12-06 12:00"), **kwargs)  # type: ignore[arg-type]
    return next(token for token, role in call.invites.items() if role is Role.SURVIVOR)


def test_a_link_before_inside_and_after_the_hours(store: CallStore) -> None:
    token = link(store)
    assert store.closed(token, at("2026-12-07 08:59")) == OutsideHours(utc("2026-12-07 09:00"))
    with pytest.raises(ProtocolError) as info:
        store.join_invite(token, "", at("2026-12-07 08:59"))
    assert info.value.code == "outside-hours"
    assert store.closed(token, at("2026-12-07 09:00")) is None
    person, _ = store.join_invite(token, "", at("2026-12-07 09:00"))
    assert person.role is Role.SURVIVOR
    # Just after closing: the next Monday.
    assert store.closed(token, at("2026-12-07 17:00")) == OutsideHours(utc("2026-12-14 09:00"))


def test_a_calls_own_window_replaces_the_hours(store: CallStore) -> None:
    window = Window(at("2026-12-08 19:00"), at("2026-12-08 20:00"))  # a Tuesday evening
    token = link(store, window=window)
    assert store.closed(token, at("2026-12-07 10:00")) == OutsideHours(utc("2026-12-08 19:00"))
    assert store.closed(token, at("2026-12-08 19:30")) is None
    assert store.closed(token, at("2026-12-08 20:00")) == OutsideHours("")  # over: not again


def test_practice_and_opened_calls_take_anyone_any_time(store: CallStore) -> None:
    sunday = at("2026-12-06 23:00")
    assert store.closed(link(store, practice=True), sunday) is None
    token = link(store)
    call = store.get(store._invites[token])
    assert call is not None and store.closed(token, sunday) is not None
    call.open_anyway = True
    assert store.closed(token, sunday) is None
    assert store.join_invite(token, "", sunday)[0].role is Role.SURVIVOR


def test_staff_are_reminded_once_ten_minutes_before_the_hours_end(store: CallStore) -> None:
    call = store.create(STAFF, at("2026-12-07 09:00"))
    assert store.hours_ending(at("2026-12-07 16:49"), 600) == []  # nobody in the call yet
    staff, _ = store.join_staff(STAFF, call.id, at("2026-12-07 16:00"))
    assert store.hours_ending(at("2026-12-07 16:49"), 600) == []
    reminder = store.hours_ending(at("2026-12-07 16:50"), 600)
    assert reminder == [Send(staff.id, HoursEnding(utc("2026-12-07 17:00")))]
    assert store.hours_ending(at("2026-12-07 16:55"), 600) == []  # once
    assert call.opens_at(HOURS, at("2026-12-07 17:30")) == at("2026-12-14 09:00")
    assert not call.ended  # the call is not cut when the hours end


def test_no_hours_means_links_are_always_open() -> None:
    store = CallStore(CallRules())
    call = store.create(STAFF, 0)
    assert call.opens_at(store.rules.hours, 0) is None
    assert call.closes_at(store.rules.hours, 0) is None
