"""Days in a tenant's time zone (METRICS.md: "Time bucketing uses the response's submitted_at in the
tenant's time zone"). One place converts between instants and tenant-local days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=256)
def zone(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone)


def local_day(time_zone: str, moment: datetime) -> date:
    """The date `moment` falls on in `time_zone`."""
    return moment.astimezone(zone(time_zone)).date()


def local_today(time_zone: str) -> date:
    from django.utils import timezone

    return local_day(time_zone, timezone.now())


def day_start(time_zone: str, day: date) -> datetime:
    """The instant local midnight of `day` begins (aware; DST-correct)."""
    return datetime.combine(day, time.min, tzinfo=zone(time_zone))


def days_bounds(time_zone: str, first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) instants covering the local days first..last inclusive."""
    return day_start(time_zone, first), day_start(time_zone, last + timedelta(days=1))


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, the day clamped to the month's last (31 Jan + 1 month = 28/29 Feb), as
    pandas' DateOffset and Postgres' `+ interval 'n months'` do."""
    import calendar

    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
