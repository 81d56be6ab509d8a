"""When a digest is due, and which period a run covers. Pure date arithmetic (zoneinfo).

A *slot* is one scheduled run: the configured local time (on the configured weekday for a weekly
digest, every day for a daily one) in the configured zone, as an aware UTC datetime. The digest
posted at slot ``T`` covers ``[previous slot, T)`` (seven days, or one, of local wall time), so
consecutive digests never overlap and never leave a gap. Its label is the ISO week (``IsoWeek``)
or the day (``Day``) of the middle of that window: Monday 09:00 posts "last week", a Friday 17:00
schedule posts "this week"; a daily 09:00 post covers yesterday, an 18:00 one today. Wall-clock
arithmetic keeps 09:00 at 09:00 across DST changes. The week functions take either period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.config import DigestSettings

_HALF_WEEK = timedelta(days=3, hours=12)
_HALF_DAY = timedelta(hours=12)
_WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.I)


class WeekError(ValueError):
    """A week that cannot be read: ``year`` and ``week`` are set when the form was right but the
    year has no such ISO week (the words around it differ)."""

    def __init__(self, message: str, *, text: str, year: int = 0, week: int = 0) -> None:
        super().__init__(message)
        self.text = text
        self.year = year
        self.week = week


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W48`` (or ``2026W48``); a ``WeekError`` naming the expected form otherwise."""
        m = _WEEK_RE.match(text.strip())
        if not m:
            raise WeekError(f"week must look like 2026-W48 (got {text!r})", text=text)
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"{year} has no ISO week {week}", text=text, year=year, week=week) from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True, order=True)
class Day:
    """The period of a daily digest."""

    day: date

    def __str__(self) -> str:
        return self.day.isoformat()


Period = IsoWeek | Day


def _daily(s: DigestSettings) -> bool:
    return s.cadence == "daily"


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


def _slot_on(day: date, s: DigestSettings) -> datetime:
    # A wall time inside a spring-forward gap resolves (fold=0) to the hour after: never skipped.
    return _utc(datetime.combine(day, s.at, tzinfo=s.tz))


def _step(s: DigestSettings) -> timedelta:
    return timedelta(days=1 if _daily(s) else 7)


def _first_day(local: date, s: DigestSettings, *, forward: bool) -> date:
    """``local`` moved to the slot's weekday (any day is one for a daily digest)."""
    if _daily(s):
        return local
    offset = (s.weekday - local.weekday()) % 7 if forward else -((local.weekday() - s.weekday) % 7)
    return local + timedelta(days=offset)


def next_run_after(now: datetime, s: DigestSettings) -> datetime:
    """The first slot strictly after ``now`` (aware), in UTC."""
    day = _first_day(now.astimezone(s.tz).date(), s, forward=True)
    while _slot_on(day, s) <= now:
        day += _step(s)
    return _slot_on(day, s)


def latest_run_at_or_before(now: datetime, s: DigestSettings) -> datetime:
    """The most recent slot at or before ``now``, in UTC."""
    day = _first_day(now.astimezone(s.tz).date(), s, forward=False)
    while _slot_on(day, s) > now:
        day -= _step(s)
    return _slot_on(day, s)


def week_of_slot(slot: datetime, s: DigestSettings) -> Period:
    """The label of the digest posted at ``slot``: its ISO week, or its day for a daily digest."""
    wall = slot.astimezone(s.tz).replace(tzinfo=None)
    if _daily(s):
        return Day((wall - _HALF_DAY).date())
    return IsoWeek.of((wall - _HALF_WEEK).date())


def slot_for_week(period: Period, s: DigestSettings) -> datetime:
    """The one slot whose digest is labelled ``period``."""
    if isinstance(period, Day):
        earliest = datetime.combine(period.day, time(0)) + _HALF_DAY
        day = earliest.date()
    else:
        earliest = datetime.combine(period.monday(), time(0)) + _HALF_WEEK  # wall-clock addition
        day = earliest.date() + timedelta(days=(s.weekday - earliest.weekday()) % 7)
    if datetime.combine(day, s.at) < earliest:
        day += _step(s)
    return _slot_on(day, s)


def window_of_slot(slot: datetime, s: DigestSettings) -> tuple[datetime, datetime]:
    """``[previous slot, slot)`` in UTC: exactly seven days (or one) of local wall time."""
    local = slot.astimezone(s.tz)
    return _slot_on(local.date() - _step(s), s), slot


def week_window(period: Period, s: DigestSettings) -> tuple[datetime, datetime]:
    """The window ``[start, end)`` in UTC that the digest labelled ``period`` covers."""
    return window_of_slot(slot_for_week(period, s), s)

