"""Where the metrics' numbers come from (METRICS.md "Rollups"), shared by the parts that read the
response rollups (scores/, funnel/) and by the apps above (digests, feedback plans and audits): the
rollup sums, the dimension keys and their labels. Only rollup tables (ResponseRollup, ResponseCell) —
never a response row; every number is derived at read time from merged sufficient statistics
(apps.metrics.stats).

Which table answers: with at most one attribution filter, `ResponseRollup` (dimension = that filter,
or `total`); with two or more, `ResponseCell` filtered on all of them (cells carry the full
attribution, so any combination is exact). A breakdown groups rollup keys when no other filter is
given, else the cells' column of that dimension. A total over a period (a summary, a breakdown) reads
the rollups of its whole calendar months from `MonthRollup` and only the days before and after them
from `ResponseRollup`: a year is ~24 rows, not 365.

Every function runs with `tenant` active (row-level security and the scoped managers see only its
rows). Labels are fetched with one query per dimension (no N+1), whatever the number of rows.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from django.db import connection

from apps.clients.models import Segment
from apps.core.prepared import execute_prepared
from apps.journeys.models import Journey, Stage
from apps.metrics import readcache
from apps.metrics.buckets import Bucket
from apps.metrics.models import STAT_FIELDS, Dimension, MonthRollup, ResponseCell, ResponseRollup
from apps.metrics.params import MetricFilters
from apps.surveys.models import Response, Survey
from apps.tenancy.context import TenantNotActive, get_current_tenant
from apps.tenancy.models import Membership
from apps.touchpoints.models import Touchpoint

NOT_ATTRIBUTED = "Not attributed"
REMOVED = "Removed"  # a rollup key whose row was deleted since (the nightly reconciliation re-dates it)

# A dimension's column in ResponseCell.
CELL_COLUMN = {
    Dimension.SURVEY: "survey_id", Dimension.TOUCHPOINT: "touchpoint_id", Dimension.STAGE: "stage_id",
    Dimension.JOURNEY: "journey_id", Dimension.SEGMENT: "segment_id", Dimension.STAFF: "staff_id",
    Dimension.CHANNEL: "channel",
}


def _bucket(row, offset: int = 0) -> Bucket:
    """A bucket from a statement's row: the STAT_FIELDS sums from `offset` on (NULL, no rows, is 0)."""
    return Bucket(*(int(value or 0) for value in row[offset:offset + len(STAT_FIELDS)]))


def rollup_key(value) -> str:
    """A dimension value as ResponseRollup stores it: the id as text, the channel code, "" for none."""
    return "" if value in (None, 0) else str(value)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_days(day: date) -> list[date]:
    """Every day of `day`'s calendar month."""
    first = month_start(day)
    following = month_start(first + timedelta(days=32))
    return [first + timedelta(days=i) for i in range((following - first).days)]


def month_parts(first: date, last: date) -> tuple[tuple[date, date], tuple[date, date], tuple[date, date]]:
    """first..last as (the days before its whole calendar months, the days after them, the first days of its first
    and last whole month); a part that is empty is a range whose end is before its start."""
    start = first if first.day == 1 else month_start(first + timedelta(days=32 - first.day))
    end = last if (last + timedelta(days=1)).day == 1 else month_start(last) - timedelta(days=1)  # of the last whole month
    if start > end:
        return (first, last), (last + timedelta(days=1), last), (start, start - timedelta(days=1))
    return (first, start - timedelta(days=1)), (end + timedelta(days=1), last), (start, month_start(end))


# --- the statements ------------------------------------------------------------------------------
# Every read of the rollups is one of a handful of shapes: which table, which columns are filtered, and
# what the rows are grouped by. Each shape's SQL is built once (the ORM would compile its 29 SUMs and their
# filters again on every request: 93% of a summary's time, measured by bench/metrics.py) and run with the
# day range, the tenant and the filter values as parameters. Portable SQL: Postgres and the demo's SQLite.

ROLLUPS, CELLS, MONTHS = ResponseRollup._meta.db_table, ResponseCell._meta.db_table, MonthRollup._meta.db_table
_SUMS_SQL = ", ".join(f"SUM({name})" for name in STAT_FIELDS)
_STATS_SQL = ", ".join(STAT_FIELDS)
# What rows may be grouped by: nothing, a column (day, a rollup key, a cell column), or the split of a
# summary's two periods (1 from the given day on, 0 before it).
SPLIT = "split"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.lru_cache(maxsize=256)
def _statement(table: str, filtered: tuple[str, ...], group: str | None) -> str:
    if group == SPLIT:
        head = "CASE WHEN day >= %s THEN 1 ELSE 0 END"
    elif group is not None:
        head = _quote(group)
    where = " AND ".join(["tenant_id = %s", "day BETWEEN %s AND %s", *(f"{_quote(column)} = %s" for column in filtered)])
    if group is None:
        return f"SELECT {_SUMS_SQL} FROM {table} WHERE {where}"
    return f"SELECT {head}, {_SUMS_SQL} FROM {table} WHERE {where} GROUP BY 1"


@functools.lru_cache(maxsize=64)
def _months_statement(filtered: tuple[str, ...], group: str | None, periods: int) -> str:
    """The rollups of `periods` periods (a summary's two: SPLIT), each read as its edge days plus its whole months.
    Parameters per period: the head days' range, the tail days' range, the whole months' range, each after the
    tenant and the filter values."""
    where = " AND ".join(["tenant_id = %s", *(f"{_quote(column)} = %s" for column in filtered)])
    parts = []
    for period in range(periods):
        part = str(period) if group == SPLIT else (_quote(group) if group else "0")
        parts += [f"SELECT {part} AS part, {_STATS_SQL} FROM {ROLLUPS} WHERE {where} AND day BETWEEN %s AND %s",
                  f"SELECT {part} AS part, {_STATS_SQL} FROM {ROLLUPS} WHERE {where} AND day BETWEEN %s AND %s",
                  f"SELECT {part} AS part, {_STATS_SQL} FROM {MONTHS} WHERE {where} AND month BETWEEN %s AND %s"]
    union = " UNION ALL ".join(parts)
    if group is None:
        return f"SELECT {_SUMS_SQL} FROM ({union}) AS parts"
    return f"SELECT part, {_SUMS_SQL} FROM ({union}) AS parts GROUP BY part"


def _months_params(tenant_id: int, filter_values: list, periods: list[tuple[date, date]]) -> list:
    params = []
    for first, last in periods:
        for low, high in month_parts(first, last):
            params += [tenant_id, *filter_values, low, high]
    return params


def _shape(f: MetricFilters, by: str | None = None) -> tuple[str, dict, str | None]:
    """(table, {filtered column: value}, the column holding `by`'s value) for the filtered responses.
    With at most one attribution filter (and a breakdown by that same dimension, if any), the rollup of that
    dimension (or `total`); otherwise the cells, filtered on every given dimension (METRICS.md "Rollups")."""
    given = f.dimensions()
    if by is None:
        if len(given) <= 1:
            dimension, value = next(iter(given.items()), (Dimension.TOTAL.value, ""))
            return ROLLUPS, {"dimension": dimension, "key": rollup_key(value)}, None
    elif set(given) <= {by}:
        filtered = {"dimension": by}
        if given:
            filtered["key"] = rollup_key(given[by])
        return ROLLUPS, filtered, "key"
    return CELLS, {CELL_COLUMN[Dimension(name)]: value for name, value in given.items()}, CELL_COLUMN[Dimension(by)] if by else None


def _run(f: MetricFilters, first: date, last: date, *, by: str | None = None, split: date | None = None) -> tuple[tuple, ...]:
    """The rows of one statement: no grouping, per `day`, per value of dimension `by`, or `split` in two. Kept per
    process until the tenant's rollups change (apps.metrics.readcache)."""
    if by in (None, "day"):
        table, filtered, _ = _shape(f)
        group = SPLIT if split is not None else by
    else:
        table, filtered, group = _shape(f, by)
    tenant = get_current_tenant()
    if tenant is None:  # as the scoped managers do: never a read without a tenant
        raise TenantNotActive("The metrics reads need an active tenant (tenant_context).")
    if table == ROLLUPS and group != "day":  # a total per period (or per key): whole months from MonthRollup
        periods = [(first, split - timedelta(days=1)), (split, last)] if group == SPLIT else [(first, last)]
        sql = _months_statement(tuple(filtered), group, len(periods))
        params = _months_params(tenant.pk, list(filtered.values()), periods)
    else:
        sql = _statement(table, tuple(filtered), group)
        params = ([split] if split is not None else []) + [tenant.pk, first, last, *filtered.values()]

    def fetch() -> tuple[tuple, ...]:
        with connection.cursor() as cursor:
            execute_prepared(cursor, sql, params)
            return tuple(cursor.fetchall())

    return readcache.cached(tenant.pk, ("rows", sql, tuple(params)), fetch)


def sums(f: MetricFilters, first: date, last: date) -> Bucket:
    """The merged statistics of the filtered responses of first..last. One statement."""
    rows = _run(f, first, last)
    return _bucket(rows[0]) if rows else Bucket()


def sums_split(f: MetricFilters, first: date, last: date, split: date) -> tuple[Bucket, Bucket]:
    """(first..split-1, split..last): a summary's previous and current period in one statement."""
    parts = {int(row[0]): _bucket(row, 1) for row in _run(f, first, last, split=split)}
    return parts.get(0, Bucket()), parts.get(1, Bucket())


def sums_by_day(f: MetricFilters, first: date, last: date) -> dict[date, Bucket]:
    """{tenant-local day: merged statistics} of the filtered responses (days without one are absent)."""
    return {_as_date(row[0]): _bucket(row, 1) for row in _run(f, first, last, by="day")}


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def grouped_buckets(f: MetricFilters, by: str) -> dict[str, Bucket]:
    """{key: merged bucket} of the filtered responses of f.first..f.last per value of dimension `by`
    (keys as ResponseRollup stores them; "" = not attributed). One statement."""
    out: dict[str, Bucket] = {}
    for row in _run(f, f.first, f.last, by=Dimension(by).value):
        key = rollup_key(row[0])
        out[key] = out.get(key, Bucket()) + _bucket(row, 1)  # cells: 0 and "" are one key
    return out


def _label_rows(by: str, ids: list[int]) -> dict[str, tuple[str, str]]:
    """{key: (public uuid, label)} for ids of one dimension, in one query."""
    if not ids:
        return {}
    if by == Dimension.STAFF:
        rows = Membership.objects.filter(pk__in=ids).values_list("pk", "uuid", "user__full_name", "user__email")
        return {str(pk): (str(public), name or email) for pk, public, name, email in rows}
    model = {Dimension.SURVEY: Survey, Dimension.TOUCHPOINT: Touchpoint, Dimension.STAGE: Stage, Dimension.JOURNEY: Journey,
             Dimension.SEGMENT: Segment}[Dimension(by)]
    return {str(pk): (str(public), name) for pk, public, name in model.objects.filter(pk__in=ids).values_list("pk", "uuid", "name")}


def labels(by: str, keys) -> dict[str, tuple[str | None, str]]:
    """{key: (public id — a uuid, or the channel code —, label)}: "Not attributed" for the key "",
    the channel's label, the survey/touchpoint/stage/journey/segment name, the staff member's full name
    (or e-mail). At most one query."""
    by = Dimension(by).value
    keys = set(keys)
    out: dict[str, tuple[str | None, str]] = {"": (None, NOT_ATTRIBUTED)} if "" in keys else {}
    keys.discard("")
    if by == Dimension.CHANNEL:
        names = dict(Response.Channel.choices)
        return out | {key: (key, str(names.get(key, key))) for key in keys}
    found = _label_rows(by, sorted(int(k) for k in keys if k.isdigit()))
    return out | {key: found.get(key, (None, REMOVED)) for key in keys}


def _filters_echo(f: MetricFilters) -> dict:
    return {**{name: f.uuids.get(name) for name in ("survey", "touchpoint", "stage", "journey", "segment", "staff")},
            "channel": f.channel}


def _min_n(tenant) -> dict:
    return {"min_n_nps": tenant.min_n_nps, "min_n_other": tenant.min_n_other}

