"""The metrics API's query parameters (DESIGN.md "API contract"), parsed into plain values.

Every parser raises `MetricParamError` — a 400 with a stable `code` — and nothing else, whatever the
input (tests/test_metrics_api.py fuzzes them):

- `from`, `to`: days (YYYY-MM-DD) in the tenant's time zone, both inclusive. Defaults: `to` today
  (tenant-local), `from` 89 days before `to` (the last 90 days). `invalid_date` (not a day, or
  outside 1900–2999), `range_reversed` (`from` after `to`), `range_too_long` (more than 5 years).
- The previous period is the equal-length period just before: it ends the day before `from`.
- `survey`, `touchpoint`, `stage`, `journey`, `segment`, `staff` (a membership id), and for the
  churn-risk list `owner`: public uuids, looked up through the tenant-scoped managers, so another
  tenant's row and a missing one are the same `unknown_<name>`.
- `channel`: a response channel code (`invalid_channel`); `by`: a dimension (`unknown_dimension`);
  `interval` (`invalid_interval`); `band` (`invalid_band`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from apps.clients.models import Segment
from apps.core.dates import local_today
from apps.core.errors import QueryParamError
from apps.journeys.models import Journey, Stage
from apps.metrics.models import ClientHealth, Dimension
from apps.surveys.models import Response, Survey
from apps.tenancy.models import Membership
from apps.touchpoints.models import Touchpoint

DEFAULT_DAYS = 90
MAX_YEARS = 5
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

# Filters given as public uuids: the model each one names (looked up in the active tenant only).
UUID_FILTERS = {
    "survey": Survey,
    "touchpoint": Touchpoint,
    "stage": Stage,
    "journey": Journey,
    "segment": Segment,
    "staff": Membership,
}
CHANNELS = tuple(Response.Channel.values)
# `by` of a breakdown: every dimension but the tenant total.
BREAKDOWN_DIMENSIONS = tuple(d.value for d in Dimension if d != Dimension.TOTAL)
TREND_INTERVALS = ("day", "week", "month")
CHURN_INTERVALS = ("day", "week", "month", "quarter", "year")
BANDS = tuple(ClientHealth.Band.values)


class MetricParamError(QueryParamError):
    """400 `{"error": {"code": <code>, "message": ..., "fields": {<parameter>: [<message>]}}}`."""


@dataclass(frozen=True)
class MetricFilters:
    """A tenant-local day range (inclusive) and the attribution filters, as ids of the active tenant."""

    first: date
    last: date
    survey: int | None = None
    touchpoint: int | None = None
    stage: int | None = None
    journey: int | None = None
    segment: int | None = None
    staff: int | None = None
    channel: str | None = None
    # The uuids as given (echoed back in answers; ids never leave the server).
    uuids: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def previous_first(self) -> date:
        return self.first - timedelta(days=self.days)

    @property
    def previous_last(self) -> date:
        return self.first - timedelta(days=1)

    def dimensions(self) -> dict[str, int | str]:
        """The attribution filters given: {dimension: id or channel code}."""
        names = (*UUID_FILTERS, "channel")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def optional(params, name: str) -> str | None:
    """The parameter's value (the last one if repeated); an empty value is no value."""
    value = params.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def parse_day(params, name: str) -> date | None:
    raw = optional(params, name)
    if raw is None:
        return None
    if not _DAY.fullmatch(raw):
        raise MetricParamError("invalid_date", name, f"`{name}` must be a day written YYYY-MM-DD.")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise MetricParamError("invalid_date", name, f"`{name}` is not a day of the calendar.") from None
    if not EARLIEST <= day <= LATEST:
        raise MetricParamError("invalid_date", name, f"`{name}` must lie between {EARLIEST} and {LATEST}.")
    return day


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


def parse_range(params, time_zone: str, *, today: date | None = None) -> tuple[date, date]:
    """`from`/`to` (inclusive, tenant-local) with the defaults of the module docstring."""
    first, last = parse_day(params, "from"), parse_day(params, "to")
    if last is None:
        last = today or local_today(time_zone)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise MetricParamError("range_reversed", "from", f"`from` ({first}) is after `to` ({last}).")
    if last >= _years_later(first, MAX_YEARS):
        raise MetricParamError("range_too_long", "to", f"The range may span at most {MAX_YEARS} years.")
    return first, last


def lookup_id(model, name: str, raw: str | None) -> int | None:
    """The id of the active tenant's row with public uuid `raw` (scoped manager: another tenant's
    row is not found), or 400 `unknown_<name>`."""
    if raw is None:
        return None
    try:
        public = uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        public = None
    found = model.objects.filter(uuid=public).values_list("pk", flat=True).first() if public else None
    if found is None:
        raise MetricParamError(f"unknown_{name}", name, f"No {name} with this id in this workspace.")
    return found


def parse_filters(params, tenant, *, allowed: tuple[str, ...] | None = None, today: date | None = None) -> MetricFilters:
    """The day range and attribution filters. `allowed` names the filters this report can apply; any
    other given is refused with `unsupported_filter` rather than silently ignored."""
    first, last = parse_range(params, tenant.time_zone, today=today)
    names = (*UUID_FILTERS, "channel")
    if allowed is not None:
        for name in names:
            if name not in allowed and optional(params, name) is not None:
                raise MetricParamError("unsupported_filter", name, f"This report cannot be filtered by `{name}`.")
    ids, uuids = {}, {}
    for name, model in UUID_FILTERS.items():
        raw = optional(params, name)
        ids[name] = lookup_id(model, name, raw)
        if raw is not None:
            uuids[name] = str(uuid.UUID(raw))
    channel = optional(params, "channel")
    if channel is not None and channel not in CHANNELS:
        raise MetricParamError("invalid_channel", "channel", f"`channel` must be one of: {', '.join(CHANNELS)}.")
    return MetricFilters(first=first, last=last, channel=channel, uuids=uuids, **ids)


def _choice(params, name: str, choices: tuple[str, ...], code: str, default: str | None) -> str:
    raw = optional(params, name)
    if raw is None and default is not None:
        return default
    if raw not in choices:
        raise MetricParamError(code, name, f"`{name}` must be one of: {', '.join(choices)}.")
    return raw


def parse_dimension(params) -> str:
    """`by` of a breakdown (required)."""
    return _choice(params, "by", BREAKDOWN_DIMENSIONS, "unknown_dimension", None)


def parse_interval(params, choices: tuple[str, ...] = TREND_INTERVALS, default: str = "day") -> str:
    return _choice(params, "interval", choices, "invalid_interval", default)


def parse_band(params) -> str | None:
    if optional(params, "band") is None:
        return None
    return _choice(params, "band", BANDS, "invalid_band", None)
