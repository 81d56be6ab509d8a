"""When the weekly digest is due, and which week a run covers. Pure date arithmetic (zoneinfo).

A *slot* is one scheduled run: the configured weekday and local time in the configured zone,
as an aware UTC datetime. The digest posted at slot ``T`` covers ``[previous slot, T)`` (seven
days of local wall time), so consecutive digests never overlap and never leave a gap. Its week
label is the ISO week of the middle of that window: Monday 09:00 posts "last week", a Friday
17:00 schedule posts "this week". Wall-clock arithmetic keeps 09:00 at 09:00 across DST changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_TIME = time(9, 0)
DIGEST_LANGUAGES = ("en", "zh")
_HALF_WEEK = timedelta(days=3, hours=12)
_WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.I)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W48`` (or ``2026W48``); ValueError naming the expected form otherwise."""
        m = _WEEK_RE.match(text.strip())
        if not m:
            raise ValueError(f"week must look like 2026-W48 (got {text!r})")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True)
class DigestSettings:
    """``DIGEST_*`` settings; no channels means the digest is off."""

    channels: tuple[str, ...] = ()
    weekday: int = 0  # Monday
    at: time = DEFAULT_TIME
    timezone: str = DEFAULT_TIMEZONE
    language: str = "en"  # of the framing text; quotes stay in the article's language
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))

    @property
    def enabled(self) -> bool:
        return bool(self.channels)


def parse_digest_settings(*, channels: str, day: str, at: str, timezone: str, language: str,
                          errors: list[str]) -> DigestSettings:
    """Build ``DigestSettings`` from raw strings, appending one message per invalid value to ``errors``."""
    names = tuple(c.strip() for c in channels.split(",") if c.strip())
    weekday = 0
    if day:
        key = day.strip().lower()[:3]
        if key in WEEKDAYS:
            weekday = WEEKDAYS.index(key)
        else:
            errors.append(f"DIGEST_DAY must be a weekday name such as monday or mon (got {day!r})")
    clock = DEFAULT_TIME
    if at:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", at.strip())
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            clock = time(int(m.group(1)), int(m.group(2)))
        else:
            errors.append(f"DIGEST_TIME must be HH:MM in 24-hour time (got {at!r})")
    zone = timezone or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"DIGEST_TIMEZONE must be an IANA time zone such as Asia/Shanghai (got {zone!r})")
        zone = DEFAULT_TIMEZONE
    lang = (language or "en").lower()
    if lang not in DIGEST_LANGUAGES:
        errors.append(f"DIGEST_LANGUAGE must be en or zh (got {language!r})")
        lang = "en"
    return DigestSettings(channels=names, weekday=weekday, at=clock, timezone=zone, language=lang)


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


def _slot_on(day: date, s: DigestSettings) -> datetime:
    # A wall time inside a spring-forward gap resolves (fold=0) to the hour after: never skipped.
    return _utc(datetime.combine(day, s.at, tzinfo=s.tz))


def next_run_after(now: datetime, s: DigestSettings) -> datetime:
    """The first slot strictly after ``now`` (aware), in UTC."""
    local = now.astimezone(s.tz)
    day = local.date() + timedelta(days=(s.weekday - local.weekday()) % 7)
    while _slot_on(day, s) <= now:
        day += timedelta(days=7)
    return _slot_on(day, s)


def latest_run_at_or_before(now: datetime, s: DigestSettings) -> datetime:
    """The most recent slot at or before ``now``, in UTC."""
    local = now.astimezone(s.tz)
    day = local.date() - timedelta(days=(local.weekday() - s.weekday) % 7)
    while _slot_on(day, s) > now:
        day -= timedelta(days=7)
    return _slot_on(day, s)


def week_of_slot(slot: datetime, s: DigestSettings) -> IsoWeek:
    wall = slot.astimezone(s.tz).replace(tzinfo=None)
    return IsoWeek.of((wall - _HALF_WEEK).date())


def slot_for_week(week: IsoWeek, s: DigestSettings) -> datetime:
    """The one slot whose digest is labelled ``week``."""
    earliest = datetime.combine(week.monday(), time(0), tzinfo=s.tz) + _HALF_WEEK  # wall-clock addition
    day = earliest.date() + timedelta(days=(s.weekday - earliest.weekday()) % 7)
    if datetime.combine(day, s.at) < earliest.replace(tzinfo=None):
        day += timedelta(days=7)
    return _slot_on(day, s)


def window_of_slot(slot: datetime, s: DigestSettings) -> tuple[datetime, datetime]:
    """``[previous slot, slot)`` in UTC: exactly seven days of local wall time."""
    local = slot.astimezone(s.tz)
    return _slot_on(local.date() - timedelta(days=7), s), slot
