"""Score reads for the API and dashboards (issue 6 item 4): the summary, trend and breakdown of every
response metric (NPS, CSAT, CES, smiley, eNPS, perception gap), the perception gap per staff member,
touchpoint and stage, and interaction volatility. They read **only** the rollup tables (ResponseRollup,
ResponseCell, TransitionRollup; apps.metrics.sources says which one answers) — never a response row —
and derive every number at read time from merged sufficient statistics (apps.metrics.stats).

Every function runs with `tenant` active (row-level security and the scoped managers see only its
rows). Labels are fetched with one query per dimension (no N+1), whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum

from apps.journeys.models import Stage
from apps.metrics import readcache, sources, stats
from apps.metrics.buckets import Bucket
from apps.metrics.models import Dimension, TransitionRollup
from apps.metrics.params import MetricFilters
from apps.metrics.sources import NOT_ATTRIBUTED, REMOVED, _filters_echo, _min_n, grouped_buckets, labels, rollup_key

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


# --- selectors ----------------------------------------------------------------------------------

def metrics_summary(tenant, f: MetricFilters) -> Summary:
    """Every metric block of the filtered responses of f.first..f.last, each with the previous
    equal-length period (the same number of days, ending the day before `from`), the change and its
    z-test (stats.summary; METRICS.md NPS "Change between two periods"). One statement for both periods."""
    def compute() -> tuple[int, dict]:
        previous, now = sources.sums_split(f, f.previous_first, f.last, f.first)
        return previous.responses, stats.summary(now, previous, **_min_n(tenant))

    # The finished statistics, kept until the tenant's rollups change (apps.metrics.readcache): a repeated summary
    # costs one version read. Keyed by everything they depend on: the days, the filters' ids, the min-n settings.
    key = ("summary", f.first, f.last, tuple(sorted(f.dimensions().items())), tuple(_min_n(tenant).values()))
    previous_responses, metrics = readcache.cached(tenant.pk, key, compute, mutable=True)
    return Summary(first=f.first, last=f.last, previous_first=f.previous_first, previous_last=f.previous_last,
                   filters=_filters_echo(f), previous_responses=previous_responses, metrics=metrics)


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
    response are present with n = 0. One statement (per day; weeks and months are summed from the days)."""
    by_start: dict[date, Bucket] = {}
    for day, bucket in sources.sums_by_day(f, f.first, f.last).items():  # days folded into weeks or months here
        start = period_start(day, interval)
        by_start[start] = by_start.get(start, Bucket()) + bucket
    points = []
    for start, end, partial in periods(f.first, f.last, interval):
        bucket = by_start.get(period_start(start, interval), Bucket())
        points.append({"start": start, "end": end, "partial": partial, **stats.blocks(bucket, **_min_n(tenant))})
    return Trend(first=f.first, last=f.last, interval=interval, filters=_filters_echo(f), points=points)


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
    return PerceptionGap(first=f.first, last=f.last, filters=_filters_echo(f),
                         overall=stats.gap_block(sources.sums(f, f.first, f.last), tenant.min_n_nps),
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
