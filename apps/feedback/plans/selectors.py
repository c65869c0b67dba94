"""Action plans read (issue 8 item 5): a plan's baseline, its live progress towards the target, and the
list of plans with their progress in a fixed number of queries.

Where the numbers come from: the metrics rollup tables (apps.metrics.sources' rule — at most one
attribution filter reads `ResponseRollup`, two or more read `ResponseCell`), merged into
`apps.metrics.buckets.Bucket`s, and every value, interval, low-sample flag and z-test is derived by
`apps.metrics.stats` (METRICS.md; nothing is re-implemented here). For one plan the numbers equal
`metrics_summary` / the metrics API with the same filters and days (tests/test_feedback_plans.py).

Batching (`scope_buckets`): many plans — each with its own scope and its own days — are read with ONE
aggregate query per rollup table, one filtered `SUM` per plan and stat field, so a list of plans costs
the same number of queries whatever its length (at most two reads: the rollup and the cell table;
each plan sums only its metric's fields, at most six, so a page of plans — 50 on the page, at most 200
through the API — fits one statement under Postgres's 1,664 result columns).

The rules read here (and shown on the pages):
- progress counts the answers from the plan's start (`starts_on`, its creation day) to today, or to the
  due date once it has passed; a closed plan (met/missed) shows the values frozen at its due date;
- `reached`: the point estimate is at or beyond the target; `reached_significantly`: the interval's
  lower bound is at or beyond it (for NPS, CSAT and CES higher is better, CES 2.0 being 7 = easy);
- the change against the baseline is the two-period z-test of `stats.change` (the baseline is kept as
  its merged bucket, so no history is re-read).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum

from apps.core.dates import local_today
from apps.feedback.models import ActionPlan, ActionPlanCase
from apps.metrics import sources, stats
from apps.metrics.buckets import Bucket
from apps.metrics.models import STAT_FIELDS, Dimension, ResponseCell, ResponseRollup
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors as metric_selectors

SCOPES = ("touchpoint", "stage", "journey", "segment", "survey")
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT %", "ces": "CES"}
# The stat fields each metric's value, interval and z-test need (a list aggregates only these).
METRIC_FIELDS = {
    "nps": ("responses", "nps_n", "nps_promoters", "nps_passives", "nps_detractors"),
    "csat": ("responses", "csat_n", "csat_top2", "csat_bottom2", "csat_sum", "csat_sumsq"),
    "ces": ("responses", "ces_n", "ces_sum", "ces_sumsq", "ces_easy"),
}
# The metric's scale (the progress bar's track and the chart's axis).
SCALE = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
DIGITS = {"nps": 0, "csat": 0, "ces": 1}
BASELINE_WINDOWS = (30, 90, 180, 365)
DEFAULT_BASELINE_DAYS = 90
MAX_SUMS = 1500  # filtered SUMs per statement (Postgres allows 1,664 result columns)
PAGE_SIZE = 50


# --- reading buckets ------------------------------------------------------------------------------

def scope_filters(scope: dict, first: date, last: date) -> MetricFilters:
    """MetricFilters for a plan's scope ({"touchpoint": id or None, …}) over first..last."""
    return MetricFilters(first=first, last=last, **{name: scope.get(name) for name in SCOPES})


def plan_scope(plan: ActionPlan) -> dict:
    return {name: getattr(plan, f"{name}_id") for name in SCOPES}


def _rollup_q(f: MetricFilters) -> Q:
    dimension, value = next(iter(f.dimensions().items()), (Dimension.TOTAL.value, ""))
    return Q(dimension=dimension, key=sources.rollup_key(value), day__range=(f.first, f.last))


def _cell_q(f: MetricFilters) -> Q:
    return Q(day__range=(f.first, f.last),
             **{sources.CELL_COLUMN[Dimension(name)]: value for name, value in f.dimensions().items()})


def scope_buckets(filters: list[MetricFilters], fields: tuple[str, ...] | list[tuple[str, ...]] = STAT_FIELDS) -> list[Bucket]:
    """The merged bucket of each MetricFilters' responses, in order; `fields` — one tuple for all, or one
    per filter — names the stat fields read (the others stay 0). One query per rollup table used,
    whatever the number of filters, as long as the filtered sums fit one statement (`MAX_SUMS`; a page of
    plans, ≤ 200 with six fields each, always does); a filter whose range is empty costs nothing."""
    per_filter = [fields] * len(filters) if fields and isinstance(fields[0], str) else list(fields)
    out = [Bucket() for _ in filters]
    by_table: dict[type, list[tuple[int, Q]]] = {ResponseRollup: [], ResponseCell: []}
    for i, f in enumerate(filters):
        if f.first > f.last:
            continue
        if len(f.dimensions()) <= 1:
            by_table[ResponseRollup].append((i, _rollup_q(f)))
        else:
            by_table[ResponseCell].append((i, _cell_q(f)))
    for model, items in by_table.items():
        chunks, chunk, size = [], [], 0
        for item in items:
            if chunk and size + len(per_filter[item[0]]) > MAX_SUMS:
                chunks.append(chunk)
                chunk, size = [], 0
            chunk.append(item)
            size += len(per_filter[item[0]])
        if chunk:
            chunks.append(chunk)
        for chunk in chunks:
            sums = {f"p{i}__{name}": Sum(name, filter=q) for i, q in chunk for name in per_filter[i]}
            row = model.objects.filter(functools.reduce(operator.or_, (q for _, q in chunk))).aggregate(**sums)
            for i, _ in chunk:
                out[i] = Bucket(**{name: int(row[f"p{i}__{name}"] or 0) for name in per_filter[i]})
    return out


def _min_n(tenant, metric: str) -> int:
    return tenant.min_n_nps if metric == "nps" else tenant.min_n_other


def metric_block(tenant, metric: str, bucket: Bucket) -> dict:
    """The metric's rounded block (value, n, ci_low, ci_high, low_sample, …) from stats."""
    return stats.blocks(bucket, min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)[metric]


# --- the baseline -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Baseline:
    metric: str
    first: date
    last: date
    value: float | None
    low: float | None
    high: float | None
    n: int
    low_sample: bool
    min_n: int
    bucket: dict  # the merged bucket's sufficient statistics (Bucket.as_dict)


def default_baseline_window(tenant, *, days: int = DEFAULT_BASELINE_DAYS, today: date | None = None) -> tuple[date, date]:
    """The `days` days before today (tenant-local), today excluded: the plan starts today."""
    today = today or local_today(tenant.time_zone)
    return today - timedelta(days=days), today - timedelta(days=1)


def baseline_measure(tenant, *, metric: str, scope: dict, first: date, last: date) -> Baseline:
    """The metric in the scope over first..last (one query), as stored on the plan at creation."""
    bucket = scope_buckets([scope_filters(scope, first, last)])[0]
    block = metric_block(tenant, metric, bucket)
    return Baseline(metric=metric, first=first, last=last, value=block["value"], low=block["ci_low"], high=block["ci_high"],
                    n=block["n"], low_sample=block["low_sample"], min_n=_min_n(tenant, metric), bucket=bucket.as_dict())


# --- progress -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanProgress:
    plan: ActionPlan
    metric: str
    metric_label: str
    first: date  # the progress window (tenant-local days, inclusive)
    last: date
    value: float | None
    low: float | None
    high: float | None
    n: int
    low_sample: bool
    min_n: int
    frozen: bool  # a closed plan: the values frozen at its due date
    baseline_value: float | None
    baseline_low: float | None
    baseline_high: float | None
    baseline_n: int
    target: float
    reached: bool
    reached_significantly: bool
    change: dict  # {"delta", "z", "significant_change"} against the baseline (stats.change)
    days_left: int  # 0 once due
    verdict: str  # "significant" / "not_significant" / "not_reached" / "no_data"
    verdict_text: str
    bar: dict  # positions on the metric's scale, in % of the track (the progress bar)
    trend: tuple = ()  # weekly points since the start (detail only): metrics_trend points

    @property
    def digits(self) -> int:
        return DIGITS[self.metric]

    @property
    def scale(self) -> tuple[float, float]:
        return SCALE[self.metric]


VERDICTS = {
    "significant": "Target reached with significance",
    "not_significant": "Target reached but not yet significant",
    "not_reached": "Target not reached",
    "no_data": "No answers yet since the plan started",
}


def verdict(value, low, target) -> str:
    if value is None:
        return "no_data"
    if low is not None and low >= target:
        return "significant"
    return "not_significant" if value >= target else "not_reached"


def _position(metric: str, value) -> float | None:
    if value is None:
        return None
    low, high = SCALE[metric]
    return round(100 * (min(max(value, low), high) - low) / (high - low), 2)


def _bar(metric: str, *, value, low, high, baseline, target) -> dict:
    """Where the point, its interval, the baseline and the target sit on the metric's scale (0–100 % of
    the track): the bar shows the interval, never a filled share implying more certainty than there is."""
    return {"value": _position(metric, value), "low": _position(metric, low), "high": _position(metric, high),
            "baseline": _position(metric, baseline), "target": _position(metric, target),
            "width": (round(_position(metric, high) - _position(metric, low), 2) if low is not None and high is not None else None)}


def progress_window(plan: ActionPlan, today: date) -> tuple[date, date]:
    return plan.starts_on, min(today, plan.due_on)


def _progress(tenant, plan: ActionPlan, bucket: Bucket, today: date, first: date, last: date, trend=()) -> PlanProgress:
    metric = plan.metric
    frozen = plan.status in (ActionPlan.Status.MET, ActionPlan.Status.MISSED)
    block = metric_block(tenant, metric, bucket)
    if frozen:
        value, low, high, n = plan.final_value, plan.final_low, plan.final_high, plan.final_n or 0
        low_sample = n < _min_n(tenant, metric)
    else:
        value, low, high, n, low_sample = block["value"], block["ci_low"], block["ci_high"], block["n"], block["low_sample"]
    baseline_bucket = Bucket.from_row(plan.baseline_bucket or {})
    change = stats.change(metric, bucket, baseline_bucket)
    target = plan.target_value
    v = verdict(value, low, target)
    return PlanProgress(
        plan=plan, metric=metric, metric_label=METRIC_LABELS[metric], first=first, last=last, value=value, low=low, high=high,
        n=n, low_sample=low_sample, min_n=_min_n(tenant, metric), frozen=frozen, baseline_value=plan.baseline_value,
        baseline_low=plan.baseline_low, baseline_high=plan.baseline_high, baseline_n=plan.baseline_n, target=target,
        reached=value is not None and value >= target, reached_significantly=low is not None and value is not None and low >= target,
        change=change, days_left=max(0, (plan.due_on - today).days), verdict=v, verdict_text=VERDICTS[v],
        bar=_bar(metric, value=value, low=low, high=high, baseline=plan.baseline_value, target=target), trend=tuple(trend))


def _today(tenant, today: date | None) -> date:
    return today or local_today(tenant.time_zone)


def action_plan_progress(tenant, plan: ActionPlan, *, today: date | None = None, with_trend: bool = True) -> PlanProgress:
    """One plan's progress (module docstring) with the weekly trend since its start. Two queries: the
    progress bucket and the trend (metrics_trend)."""
    today = _today(tenant, today)
    first, last = progress_window(plan, today)
    f = scope_filters(plan_scope(plan), first, last)
    bucket = scope_buckets([f])[0]
    trend = ()
    if with_trend and first <= last:
        trend = metric_selectors.metrics_trend(tenant, f, "week").points
    return _progress(tenant, plan, bucket, today, first, last, trend)


def action_plan_queryset():
    return ActionPlan.objects.select_related("owner__user", "touchpoint", "stage__journey", "journey", "segment", "survey")


def action_plan_list(tenant, *, status: str | None = None, metric: str | None = None, plans=None,
                     today: date | None = None) -> list[PlanProgress]:
    """Plans (active first, then by due date) with their progress: one query for the plans and one per
    rollup table for every plan's bucket (module docstring: a fixed number, whatever the count)."""
    today = _today(tenant, today)
    if plans is None:
        qs = action_plan_queryset()
        if status:
            qs = qs.filter(status=status)
        if metric:
            qs = qs.filter(metric=metric)
        order = {ActionPlan.Status.ACTIVE: 0, ActionPlan.Status.MET: 1, ActionPlan.Status.MISSED: 1, ActionPlan.Status.CANCELLED: 2}
        plans = sorted(qs, key=lambda p: (order.get(p.status, 3), p.due_on, p.pk))
    plans = list(plans)
    windows = [progress_window(p, today) for p in plans]
    filters = [scope_filters(plan_scope(p), first, last) for p, (first, last) in zip(plans, windows, strict=True)]
    # Each plan reads only the fields its metric's block and z-test need.
    buckets = scope_buckets(filters, [METRIC_FIELDS[p.metric] for p in plans]) if plans else []
    return [_progress(tenant, p, b, today, first, last) for p, b, (first, last) in zip(plans, buckets, windows, strict=True)]


def scope_label(plan) -> str:
    """"Touchpoint Help line · Segment SMB", or "Whole workspace"."""
    parts = []
    for name in SCOPES:
        obj = getattr(plan, name, None)
        if obj is not None:
            parts.append(f"{name.title()} {obj.name}")
    return " · ".join(parts) or "Whole workspace"


def plan_cases(plan: ActionPlan):
    """The cases linked to the plan (one query), newest first."""
    from apps.feedback.models import Case

    ids = ActionPlanCase.objects.filter(plan=plan).values("case_id")
    return Case.objects.filter(pk__in=ids).select_related("assignee__user").order_by("-opened_at", "-id")
