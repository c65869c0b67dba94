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
