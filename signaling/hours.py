"""Contact hours: when an organization takes calls (weekly times, holidays, a time zone)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOOK_AHEAD_DAYS = 30  # how far ahead the next opening is looked for
SPAN = re.compile(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*")


class HoursError(ValueError):
    """Contact hours that cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class Span:
    """One open period of a day, in minutes since midnight (end 1440 = midnight)."""

    start: int
    end: int


def parse_span(text: str) -> Span:
    """'09:00-17:00' (24-hour times; '24:00' ends at midnight)."""
    match = SPAN.fullmatch(text)
    if not match:
        raise HoursError("a span is not two 24-hour times such as 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60 or end <= start:
        raise HoursError("a span must end after it starts, on the same day (24:00 at the latest)")
    return Span(start, end)


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(
            "time_zone is not a time zone of the IANA database (such as America/Toronto)"
        ) from None


@dataclass(frozen=True)
class Hours:
    """Weekly open spans in a time zone, closed on holidays. No spans at all: always open."""

    zone: str = "UTC"
    week: tuple[tuple[Span, ...], ...] = field(default_factory=lambda: ((),) * 7)
    holidays: frozenset[dt.date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not any(self.week)

    def _local(self, now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, ZoneInfo(self.zone))

    def _spans_on(self, day: dt.date) -> tuple[Span, ...]:
        return () if day in self.holidays else self.week[day.weekday()]

    def _at(self, day: dt.date, minute: int) -> float:
        """The moment `minute` minutes after midnight of `day`, local time."""
        zone = ZoneInfo(self.zone)
        midnight = dt.datetime.combine(day, dt.time(), zone)
        naive = midnight.replace(tzinfo=None) + dt.timedelta(minutes=minute)
        return naive.replace(tzinfo=zone).timestamp()

    def is_open(self, now: float) -> bool:
        if self.always_open:
            return True
        local = self._local(now)
        minute = local.hour * 60 + local.minute
        return any(s.start <= minute < s.end for s in self._spans_on(local.date()))

    def next_opening(self, now: float) -> float | None:
        """When the hours next open after `now` (now itself if open); None if not soon."""
        if self.is_open(now):
            return now
        today = self._local(now).date()
        for offset in range(LOOK_AHEAD_DAYS + 1):
            day = today + dt.timedelta(days=offset)
            for span in self._spans_on(day):
                opens = self._at(day, span.start)
                if opens > now:
                    return opens
        return None

    def closes_at(self, now: float) -> float | None:
        """When the open period around `now` ends (a span ending at midnight runs on into a
        span starting at midnight next day); None when closed now or always open."""
        if self.always_open or not self.is_open(now):
            return None
        local = self._local(now)
        day, minute = local.date(), local.hour * 60 + local.minute
        for _ in range(LOOK_AHEAD_DAYS):
            span = next(s for s in self._spans_on(day) if s.start <= minute < s.end)
            later = [s for s in self._spans_on(day) if s.start == span.end]
            if later:
                minute = later[0].start
                continue
            if span.end < 24 * 60:
                return self._at(day, span.end)
            tomorrow = day + dt.timedelta(days=1)
            if not any(s.start == 0 for s in self._spans_on(tomorrow)):
                return self._at(tomorrow, 0)
            day, minute = tomorrow, 0
        return None


def parse_hours(table: dict[str, object]) -> Hours:
    """Hours from a settings table: time_zone, one list of spans per day, holidays."""
    known = {"time_zone", "holidays", *DAYS}
    unknown = sorted(set(table) - known)
    if unknown:
        raise HoursError(f"unknown setting {unknown[0][:32]!r} in the hours")
    zone = table.get("time_zone", "UTC")
    if not isinstance(zone, str):
        raise HoursError('time_zone must be text such as "America/Toronto"')
    parse_zone(zone)
    week: list[tuple[Span, ...]] = []
    for day in DAYS:
        spans = table.get(day, [])
        if not isinstance(spans, list) or not all(isinstance(s, str) for s in spans):
            raise HoursError(f'{day} must be a list of spans such as ["09:00-17:00"]')
        try:
            parsed = sorted((parse_span(s) for s in spans), key=lambda s: s.start)
        except HoursError as exc:
            raise HoursError(f"{day}: {exc}") from None
        for a, b in itertools.pairwise(parsed):
            if b.start < a.end:
                raise HoursError(f"the spans of {day} overlap")
        week.append(tuple(parsed))
    holidays = table.get("holidays", [])
    if not isinstance(holidays, list):
        raise HoursError("holidays must be a list of dates such as [2026-12-25]")
    dates: set[dt.date] = set()
    for item in holidays:
        if isinstance(item, dt.datetime) or not isinstance(item, dt.date | str):
            raise HoursError("holidays must be dates such as 2026-12-25")
        try:
            dates.add(item if isinstance(item, dt.date) else dt.date.fromisoformat(item))
        except ValueError:
            raise HoursError("holidays must be dates such as 2026-12-25") from None
    return Hours(zone, tuple(week), frozenset(dates))


@dataclass(frozen=True)
class Window:
    """A call's own time: its links open from `start` to `end` (seconds since the epoch)."""

    start: float
    end: float

    def is_open(self, now: float) -> bool:
        return self.start <= now < self.end
