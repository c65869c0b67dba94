"""Metrics reads for the API and dashboards (issue 6 item 4): they read **only** the rollup tables
(ResponseRollup, ResponseCell, TransitionRollup, FunnelRollup) and the small per-client tables
(ClientHealth, ChurnModel, and Client for churn) — never a response row — and derive every number at
read time from merged sufficient statistics (apps.metrics.stats; METRICS.md "Rollups").

Which table answers: with at most one attribution filter, `ResponseRollup` (dimension = that filter,
or `total`); with two or more, `ResponseCell` filtered on all of them (cells carry the full
attribution, so any combination is exact). A breakdown groups rollup keys when no other filter is
given, else the cells' column of that dimension.

Every function runs with `tenant` active (row-level security and the scoped managers see only its
rows). Labels are fetched with one query per dimension (no N+1), whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from apps.clients.models import Segment
from apps.journeys.models import Journey, Stage
from apps.metrics import stats
from apps.metrics.buckets import Bucket
from apps.metrics.churn import churn_report
from apps.metrics.churn_risk import churn_risk_list
from apps.metrics.models import STAT_FIELDS, ChurnModel, Dimension, FunnelRollup, ResponseCell, ResponseRollup, TransitionRollup
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
FUNNEL_COUNTS = ("invited", "pending", "bounced", "failed", "opened", "responded", "skipped")


# --- where the numbers come from ----------------------------------------------------------------

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


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    first: date
    last: date
    previous_first: date
    previous_last: date
    filters: dict
    previous_responses: int
    metrics: dict  # stats.summary(current, previous): "responses" and one block per metric


@dataclass(frozen=True)
class Trend:
    first: date
    last: date
    interval: str
    filters: dict
    points: list[dict]  # {"start", "end", "partial", "responses", <metric>: block, …}


@dataclass(frozen=True)
class Breakdown:
    first: date
    last: date
    by: str
    filters: dict
    rows: list[dict]  # {"key", "label", "responses", <metric>: block, …}


@dataclass(frozen=True)
class PerceptionGap:
    first: date
    last: date
    filters: dict
    overall: dict
    staff: list[dict]
    touchpoints: list[dict]
    stages: list[dict]


@dataclass(frozen=True)
class Volatility:
    first: date
    last: date
    filters: dict
    overall: dict
    journeys: list[dict]
    transitions: list[dict]


@dataclass(frozen=True)
class Funnel:
    first: date
    last: date
    filters: dict
    overall: dict
    surveys: list[dict]


# --- selectors ----------------------------------------------------------------------------------

def metrics_summary(tenant, f: MetricFilters) -> Summary:
    """Every metric block of the filtered responses of f.first..f.last, each with the previous
    equal-length period (the same number of days, ending the day before `from`), the change and its
    z-test (stats.summary; METRICS.md NPS "Change between two periods"). One query for both periods."""
    current, before = Q(day__gte=f.first), Q(day__lt=f.first)
    row = (_source(f).filter(day__range=(f.previous_first, f.last))
           .aggregate(**_sums("c_", current), **_sums("p_", before)))
    now, previous = _bucket(row, "c_"), _bucket(row, "p_")
    return Summary(first=f.first, last=f.last, previous_first=f.previous_first, previous_last=f.previous_last,
                   filters=_filters_echo(f), previous_responses=previous.responses,
                   metrics=stats.summary(now, previous, **_min_n(tenant)))


def period_start(day: date, interval: str) -> date:
    """The first day of the day/week (Monday)/month `day` falls in."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _next_period(start: date, interval: str) -> date:
    if interval == "week":
        return start + timedelta(days=7)
    if interval == "month":
        return (start + timedelta(days=32)).replace(day=1)
    return start + timedelta(days=1)


def periods(first: date, last: date, interval: str) -> list[tuple[date, date, bool]]:
    """(start, end, partial) of every period touching first..last, cut to the range (end inclusive)."""
    out, start = [], period_start(first, interval)
    while start <= last:
        end = _next_period(start, interval) - timedelta(days=1)
        cut = (max(start, first), min(end, last))
        out.append((cut[0], cut[1], cut != (start, end)))
        start = end + timedelta(days=1)
    return out


def metrics_trend(tenant, f: MetricFilters, interval: str) -> Trend:
    """Every metric block per tenant-local day, week (Monday to Sunday) or calendar month of
    f.first..f.last; the first and last period are cut to the range (`partial`). Periods without a
    response are present with n = 0. One query, grouped by period in the database."""
    rows = _source(f).filter(day__range=(f.first, f.last))
    if interval == "day":
        grouped = rows.values("day").annotate(**_sums()).order_by()
        by_start = {row["day"]: _bucket(row) for row in grouped}
    else:
        trunc = TruncWeek("day") if interval == "week" else TruncMonth("day")
        grouped = rows.annotate(period=trunc).values("period").annotate(**_sums()).order_by()
        by_start = {_as_date(row["period"]): _bucket(row) for row in grouped}
    points = []
    for start, end, partial in periods(f.first, f.last, interval):
        bucket = by_start.get(period_start(start, interval), Bucket())
        points.append({"start": start, "end": end, "partial": partial, **stats.blocks(bucket, **_min_n(tenant))})
    return Trend(first=f.first, last=f.last, interval=interval, filters=_filters_echo(f), points=points)


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def metrics_breakdown(tenant, f: MetricFilters, by: str) -> Breakdown:
    """Every metric block per value of dimension `by` (responses without that attribution are one row,
    "Not attributed"), most responses first. Two queries: the buckets and the labels."""
    buckets = grouped_buckets(f, by)
    names = labels(by, buckets)
    rows = [{"key": names[key][0], "label": names[key][1], **stats.blocks(bucket, **_min_n(tenant))}
            for key, bucket in buckets.items()]
    rows.sort(key=lambda r: (-r["responses"], r["label"].casefold()))
    return Breakdown(first=f.first, last=f.last, by=by, filters=_filters_echo(f), rows=rows)


def _gap_rows(tenant, f: MetricFilters, by: str) -> list[dict]:
    buckets = {key: b for key, b in grouped_buckets(f, by).items() if b.gap_n}
    names = labels(by, buckets)
    rows = [{"key": names[key][0], "label": names[key][1], **stats.gap_block(b, tenant.min_n_nps)} for key, b in buckets.items()]
    rows.sort(key=lambda r: (-r["n"], r["label"].casefold()))
    return rows


def perception_gap(tenant, f: MetricFilters) -> PerceptionGap:
    """The perception gap (METRICS.md "Perception gap": mean predicted − actual NPS answer over the
    pairs, with perceived and actual NPS of the same pairs) overall and per staff member, touchpoint
    and journey stage (only values with at least one pair). Flagged against the tenant's NPS min-n."""
    row = _source(f).filter(day__range=(f.first, f.last)).aggregate(**_sums())
    return PerceptionGap(first=f.first, last=f.last, filters=_filters_echo(f),
                         overall=stats.gap_block(_bucket(row), tenant.min_n_nps),
                         staff=_gap_rows(tenant, f, Dimension.STAFF), touchpoints=_gap_rows(tenant, f, Dimension.TOUCHPOINT),
                         stages=_gap_rows(tenant, f, Dimension.STAGE))


def volatility(tenant, f: MetricFilters) -> Volatility:
    """Interaction volatility (METRICS.md "Interaction volatility": mean |Δ| between a client's
    consecutive scores within a journey, on 0–100) of the transitions dated f.first..f.last (the later
    response's day), overall, per journey and per stage transition (from-stage → to-stage). Filters:
    `journey`, and `stage` (transitions into or out of it). Three queries: sums, journeys, stages."""
    rows = TransitionRollup.objects.filter(day__range=(f.first, f.last))
    if f.journey is not None:
        rows = rows.filter(journey_id=f.journey)
    if f.stage is not None:
        rows = rows.filter(Q(from_stage_id=f.stage) | Q(to_stage_id=f.stage))
    sums = list(rows.values("journey_id", "from_stage_id", "to_stage_id")
                .annotate(n=Sum("n"), abs_sum=Sum("abs_sum"), sq_sum=Sum("sq_sum")).order_by())
    min_n = tenant.min_n_other

    def block(parts) -> dict:
        parts = list(parts)
        return stats.volatility_block(sum(p["n"] for p in parts), sum(p["abs_sum"] for p in parts), sum(p["sq_sum"] for p in parts), min_n)

    journeys = labels(Dimension.JOURNEY, {rollup_key(r["journey_id"]) for r in sums})
    stage_ids = {s for r in sums for s in (r["from_stage_id"], r["to_stage_id"]) if s}
    stage_rows = {pk: (str(public), name, order) for pk, public, name, order in
                  Stage.objects.filter(pk__in=stage_ids).values_list("pk", "uuid", "name", "order")} if stage_ids else {}

    def stage(pk: int) -> tuple[str | None, str, int]:
        if not pk:
            return None, NOT_ATTRIBUTED, -1
        return stage_rows.get(pk, (None, REMOVED, 10**6))

    per_journey = []
    for journey_key in sorted(journeys, key=lambda k: journeys[k][1].casefold()):
        per_journey.append({"key": journeys[journey_key][0], "label": journeys[journey_key][1],
                            **block(r for r in sums if rollup_key(r["journey_id"]) == journey_key)})
    transitions = []
    for r in sums:
        (from_id, from_label, from_order), (to_id, to_label, to_order) = stage(r["from_stage_id"]), stage(r["to_stage_id"])
        journey_id, journey_label = journeys[rollup_key(r["journey_id"])]
        transitions.append({"journey": journey_id, "journey_label": journey_label, "from_stage": from_id, "from_label": from_label,
                            "to_stage": to_id, "to_label": to_label, "_order": (journey_label.casefold(), from_order, to_order),
                            **block([r])})
    transitions.sort(key=lambda t: t.pop("_order"))
    return Volatility(first=f.first, last=f.last, filters=_filters_echo(f), overall=block(sums), journeys=per_journey,
                      transitions=transitions)


def funnel(tenant, f: MetricFilters) -> Funnel:
    """The invitation funnel and response rate (METRICS.md "Response rate and funnel"; readings in
    stats.funnel_block) of the invitations created f.first..f.last, overall and per survey. Filters:
    `survey`, `channel`. Two queries."""
    rows = FunnelRollup.objects.filter(day__range=(f.first, f.last))
    if f.survey is not None:
        rows = rows.filter(survey_id=f.survey)
    if f.channel is not None:
        rows = rows.filter(channel=f.channel)
    sums = {rollup_key(r["survey_id"]): r for r in rows.values("survey_id").annotate(**{c: Sum(c) for c in FUNNEL_COUNTS}).order_by()}
    names = labels(Dimension.SURVEY, sums)
    total = {c: sum(int(r[c] or 0) for r in sums.values()) for c in FUNNEL_COUNTS}
    surveys = [{"key": names[key][0], "label": names[key][1], **stats.funnel_block(**{c: int(r[c] or 0) for c in FUNNEL_COUNTS})}
               for key, r in sums.items()]
    surveys.sort(key=lambda r: (-r["invited"], r["label"].casefold()))
    return Funnel(first=f.first, last=f.last, filters=_filters_echo(f), overall=stats.funnel_block(**total), surveys=surveys)


def churn(tenant, f: MetricFilters, interval: str) -> dict:
    """Churn, retention, revenue churn per period of f.first..f.last, quarterly cohorts and the tenure
    curve (apps.metrics.churn.churn_report; METRICS.md "Churn and retention"), from the tenant's Client
    rows, optionally of the clients now in segment `f.segment`."""
    report = churn_report(tenant, first=f.first, last=f.last, interval=interval, segment_id=f.segment)
    return {**report, "first": f.first, "last": f.last, "segment": f.uuids.get("segment")}


def client_health_list(tenant, *, segment_id: int | None = None, owner_id: int | None = None, band: str | None = None):
    """Clients ranked by churn risk, riskiest first (apps.metrics.churn_risk.churn_risk_list)."""
    return churn_risk_list(tenant, segment_id=segment_id, owner_id=owner_id, band=band)


def churn_model_current() -> ChurnModel | None:
    """The tenant's current churn model (logistic regression with its held-out AUC, or the record that
    the rules were used)."""
    return ChurnModel.objects.filter(is_current=True).order_by("-fitted_at").first()
