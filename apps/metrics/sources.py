"""Where the metrics' numbers come from (METRICS.md "Rollups"), shared by the parts that read the
response rollups (scores/, funnel/) and by the apps above (digests, feedback plans and audits): the
rollup sums, the dimension keys and their labels. Only rollup tables (ResponseRollup, ResponseCell) —
never a response row; every number is derived at read time from merged sufficient statistics
(apps.metrics.stats).

Which table answers: with at most one attribution filter, `ResponseRollup` (dimension = that filter,
or `total`); with two or more, `ResponseCell` filtered on all of them (cells carry the full
attribution, so any combination is exact). A breakdown groups rollup keys when no other filter is
given, else the cells' column of that dimension.

Every function runs with `tenant` active (row-level security and the scoped managers see only its
rows). Labels are fetched with one query per dimension (no N+1), whatever the number of rows.
"""

from __future__ import annotations

from django.db.models import Q, Sum

from apps.clients.models import Segment
from apps.journeys.models import Journey, Stage
from apps.metrics.buckets import Bucket
from apps.metrics.models import STAT_FIELDS, Dimension, ResponseCell, ResponseRollup
from apps.metrics.params import MetricFilters
from apps.surveys.models import Response, Survey
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


def _sums(prefix: str = "", condition: Q | None = None) -> dict:
    return {prefix + name: Sum(name, filter=condition) for name in STAT_FIELDS}


def _bucket(row: dict, prefix: str = "") -> Bucket:
    return Bucket(*(int(row.get(prefix + name) or 0) for name in STAT_FIELDS))


def rollup_key(value) -> str:
    """A dimension value as ResponseRollup stores it: the id as text, the channel code, "" for none."""
    return "" if value in (None, 0) else str(value)


def _source(f: MetricFilters):
    """The rows holding the filtered responses (either table), not yet cut to days."""
    given = f.dimensions()
    if len(given) <= 1:
        dimension, value = next(iter(given.items()), (Dimension.TOTAL.value, ""))
        return ResponseRollup.objects.filter(dimension=dimension, key=rollup_key(value))
    return ResponseCell.objects.filter(**{CELL_COLUMN[Dimension(name)]: value for name, value in given.items()})


def grouped_buckets(f: MetricFilters, by: str) -> dict[str, Bucket]:
    """{key: merged bucket} of the filtered responses of f.first..f.last per value of dimension `by`
    (keys as ResponseRollup stores them; "" = not attributed). One query."""
    by = Dimension(by).value
    given = f.dimensions()
    if set(given) <= {by}:
        rows = ResponseRollup.objects.filter(dimension=by, day__range=(f.first, f.last))
        if given:
            rows = rows.filter(key=rollup_key(given[by]))
        column = "key"
    else:
        rows = ResponseCell.objects.filter(day__range=(f.first, f.last),
                                           **{CELL_COLUMN[Dimension(name)]: value for name, value in given.items()})
        column = CELL_COLUMN[Dimension(by)]
    out: dict[str, Bucket] = {}
    for row in rows.values(column).annotate(**_sums()).order_by():
        key = rollup_key(row[column])
        out[key] = out.get(key, Bucket()) + _bucket(row)  # cells: 0 and "" are one key
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

