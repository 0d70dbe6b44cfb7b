"""Unit tests of signaling/hours.py: contact hours in a time zone, holidays, call windows."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from signaling.hours import Hours, HoursError, Window, parse_hours

TORONTO = ZoneInfo("America/Toronto")


def at(text: str) -> float:
    """A Toronto wall-clock time as seconds since the epoch."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=TORONTO).timestamp()


@pytest.fixture
def hours() -> Hours:
    return parse_hours(
        {
            "time_zone": "America/Toronto",
            "monday": ["09:00-12:00", "13:00-17:00"],
            "tuesday": ["09:00-17:00"],
            "friday": ["20:00-24:00"],
            "saturday": ["00:00-02:00"],
            "holidays": [dt.date(2026, 12, 8), "2026-12-29"],
        }
    )


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ("2026-12-07 08:59", False),  # Monday, before
        ("2026-12-07 09:00", True),
        ("2026-12-07 11:59", True),
        ("2026-12-07 12:30", False),  # lunch
        ("2026-12-07 16:59", True),
        ("2026-12-07 17:00", False),  # after
        ("2026-12-08 10:00", False),  # a Tuesday holiday
        ("2026-12-15 10:00", True),  # the next Tuesday
        ("2026-12-09 10:00", False),  # Wednesday: no hours
        ("2026-12-11 23:30", True),  # Friday night runs past midnight
        ("2026-12-12 01:30", True),
        ("2026-12-12 02:00", False),
    ],
)
def test_open_or_not(hours: Hours, when: str, is_open: bool) -> None:
    assert hours.is_open(at(when)) is is_open


def test_next_opening_skips_lunch_days_without_hours_and_holidays(hours: Hours) -> None:
    assert hours.next_opening(at("2026-12-07 12:30")) == at("2026-12-07 13:00")
    assert hours.next_opening(at("2026-12-07 17:00")) == at("2026-12-11 20:00")  # Tue holiday
    assert hours.next_opening(at("2026-12-07 10:00")) == at("2026-12-07 10:00")  # open now
    assert hours.next_opening(at("2026-12-28 18:00")) == at("2027-01-01 20:00")


def test_closing_time_follows_a_span_past_midnight(hours: Hours) -> None:
    assert hours.closes_at(at("2026-12-07 10:00")) == at("2026-12-07 12:00")
    assert hours.closes_at(at("2026-12-11 21:00")) == at("2026-12-12 02:00")
    assert hours.closes_at(at("2026-12-07 12:30")) is None


def test_daylight_saving_time_is_the_zones_own() -> None:
    hours = parse_hours({"time_zone": "America/Toronto", "sunday": ["09:00-10:00"]})
    # 2027-03-14 is the Sunday clocks go forward in Toronto: 9:00 is then UTC-4, not UTC-5.
    opens = hours.next_opening(at("2027-03-13 12:00"))
    assert opens == dt.datetime(2027, 3, 14, 13, 0, tzinfo=dt.UTC).timestamp()


def test_no_hours_means_always_open() -> None:
    hours = parse_hours({})
    assert hours.always_open and hours.is_open(0) and hours.closes_at(0) is None


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ({"time_zone": "Mars/Olympus"}, "IANA"),
        ({"monday": ["9-5"]}, "24-hour times"),
        ({"monday": ["17:00-09:00"]}, "end after"),
        ({"monday": ["09:00-12:00", "11:00-13:00"]}, "overlap"),
        ({"monday": "09:00-17:00"}, "list"),
        ({"holidays": ["Christmas"]}, "date"),
        ({"holidays": "2026-12-25"}, "list"),
        ({"someday": []}, "unknown"),
        ({"time_zone": 5}, "time_zone"),
    ],
)
def test_bad_hours_say_what_is_wrong(table: dict[str, object], why: str) -> None:
    with pytest.raises(HoursError, match=why):
        parse_hours(table)


def test_a_call_window() -> None:
    window = Window(start=100.0, end=200.0)
    assert not window.is_open(99.9) and window.is_open(100) and not window.is_open(200)
