"""The six-monthly experience audit of one journey (issue 8 item 8): the last six months against the six
before, per stage and for the whole journey.

Periods: the audit ends on `end` (a tenant-local day, default today; the pages also offer the last
completed half-year, 30 June or 31 December). The current period is the six calendar months ending on
`end` (end = 30 June: 1 January – 30 June), the previous one the six calendar months before it (1 July
– 31 December). The two may differ by a few days in length (181 vs 184): each is read on its own days.

What it reads (a fixed number of queries, whatever the number of stages, cases or plans):
- per stage NPS/CSAT/CES of each period: the journey's responses grouped by stage (the metrics
  selectors' grouped rollup read, one query per period), each value with n and 95% interval and the
  change between the periods with its z-test (`stats.change`); a change is marked only when it is
  significant (|z| ≥ 1.96). The journey's total is the sum of its stages' buckets, plus its answers
  without a stage;
- volatility of the journey and of each stage transition, both periods (`metrics_selectors.volatility`);
- top root causes of the cases opened in the current period from answers in this journey (count and
  share of the cases with a root cause), from `Case`;
- the recovery rate of those cases (`apps.feedback.recovery.selectors.recovery_report` with the journey
  filter), both periods;
- the action plans in scope — on the journey, one of its stages, or a touchpoint placed on one of its
  stages — due in the current period: met, missed, or still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Q

from apps.core.dates import days_bounds, local_today
from apps.feedback.models import ActionPlan, Case
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.metrics import sources, stats
from apps.metrics.buckets import Bucket
from apps.metrics.models import Dimension
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors as metric_selectors

METRICS = ("nps", "csat", "ces")
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
DELTA_UNIT = {"nps": "points", "csat": "pp", "ces": "on 1–7"}
TOP_CAUSES = 5


# --- periods -----------------------------------------------------------------------------------------

def _months_back(day: date, months: int) -> date:
    """The same day of the month `months` earlier, clipped to that month's length."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def audit_periods(end: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """((previous_first, previous_last), (current_first, current_last)) for an audit ending on `end`: six
    calendar months ending on `end` (end = 30 Jun → from 1 Jan), and the six months before them."""
    current_first = _months_back(end + timedelta(days=1), 6)
    return (_months_back(current_first, 6), current_first - timedelta(days=1)), (current_first, end)


def last_completed_half_year(today: date) -> date:
    """The last 30 June or 31 December strictly before today."""
    june = date(today.year, 6, 30)
    return june if june < today else date(today.year - 1, 12, 31)


# --- the report --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StageRow:
    stage_id: int | None  # None: the journey's total
    name: str
    order: int
    previous: dict  # metric -> block (value, n, ci_low, ci_high, low_sample)
    current: dict
    change: dict  # metric -> {"delta", "z", "significant_change"}

    def marker(self, metric: str) -> str:
        """"up" / "down" when the change of `metric` is significant, else ""."""
        c = self.change[metric]
        if not c.get("significant_change") or not c.get("delta"):
            return ""
        return "up" if c["delta"] > 0 else "down"


@dataclass(frozen=True)
class JourneyAudit:
    journey: Journey
    end: date
    previous: tuple[date, date]
    current: tuple[date, date]
    stages: list[StageRow]
    total: StageRow
    volatility_previous: dict
    volatility_current: dict
    transitions: list[dict]  # {"from_label", "to_label", "previous": block, "current": block}
    root_causes: list[dict]  # {"label", "count", "share"}
    cases_opened: int
    cases_with_cause: int
    recovery_previous: dict | None
    recovery_current: dict | None
    recovery_error: str
    plans: list[ActionPlan]
    summary: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.total.previous["responses"] or self.total.current["responses"])

    @property
    def plans_met(self) -> int:
        return sum(1 for p in self.plans if p.status == ActionPlan.Status.MET)

    @property
    def plans_missed(self) -> int:
        return sum(1 for p in self.plans if p.status == ActionPlan.Status.MISSED)


def _blocks(tenant, bucket: Bucket) -> dict:
    return stats.blocks(bucket, min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)


def _row(tenant, stage_id, name, order, previous: Bucket, current: Bucket) -> StageRow:
    return StageRow(stage_id=stage_id, name=name, order=order, previous=_blocks(tenant, previous), current=_blocks(tenant, current),
                    change={m: stats.change(m, current, previous) for m in METRICS})


def _volatility(tenant, journey, first, last):
    return metric_selectors.volatility(tenant, MetricFilters(first=first, last=last, journey=journey.pk))


def _recovery(tenant, journey, first, last):
    from apps.feedback.recovery.selectors import recovery_report

    return recovery_report(tenant, MetricFilters(first=first, last=last, journey=journey.pk)).overall


def _root_causes(tenant, journey, first: date, last: date) -> tuple[list[dict], int, int]:
    start, stop = days_bounds(tenant.time_zone, first, last)
    cases = Case.objects.filter(Q(response__journey=journey) | Q(response__stage__journey=journey),
                                opened_at__gte=start, opened_at__lt=stop)
    rows = list(cases.values("root_cause_id", "root_cause__name").annotate(n=Count("id")).order_by())
    total = sum(r["n"] for r in rows)
    with_cause = sum(r["n"] for r in rows if r["root_cause_id"])
    ranked = sorted((r for r in rows if r["root_cause_id"]), key=lambda r: (-r["n"], r["root_cause__name"].casefold()))
    causes = [{"label": r["root_cause__name"], "count": r["n"], "share": stats.rounded({"s": 100 * r["n"] / with_cause})["s"]}
              for r in ranked[:TOP_CAUSES]]
    return causes, total, with_cause


def _plans(journey, stage_ids: list[int], first: date, last: date) -> list[ActionPlan]:
    touchpoints = StageTouchpoint.objects.filter(stage__journey=journey).values("touchpoint_id")
    return list(ActionPlan.objects.filter(Q(journey=journey) | Q(stage__journey=journey) | Q(touchpoint__in=touchpoints),
                                          due_on__range=(first, last))
                .exclude(status=ActionPlan.Status.CANCELLED).select_related("touchpoint", "stage", "journey", "owner__user")
                .order_by("due_on", "id"))


def _signed(value) -> str:
    return f"{value:+g}".replace("-", "−")


def _summary(stages: list[StageRow], total: StageRow) -> list[str]:
    """Sentences naming the stages whose scores changed significantly (rose / fell), then the journey."""
    rose, fell = [], []
    for row in stages:
        for direction, names in (("up", rose), ("down", fell)):
            moved = [f"{METRIC_NAMES[m]} {_signed(row.change[m]['delta'])}" for m in METRICS if row.marker(m) == direction]
            if moved:
                names.append(f"{row.name} ({', '.join(moved)})")
    out = []
    if rose:
        out.append(f"Scores rose significantly at {_and(rose)}.")
    if fell:
        out.append(f"Scores fell significantly at {_and(fell)}.")
    if not rose and not fell:
        out.append("No stage's NPS, CSAT or CES changed significantly between the two half-years.")
    whole = [f"{METRIC_NAMES[m]} {'rose' if total.marker(m) == 'up' else 'fell'} ({_signed(total.change[m]['delta'])})"
             for m in METRICS if total.marker(m)]
    if whole:
        out.append(f"Across the whole journey, {_and(whole)} significantly.")
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def journey_audit(tenant, journey: Journey, *, end: date | None = None) -> JourneyAudit:
    """The audit of `journey` ending on `end` (module docstring). Runs with `tenant` active."""
    end = end or local_today(tenant.time_zone)
    previous, current = audit_periods(end)
    stages = list(Stage.objects.filter(journey=journey).order_by("order", "id").values_list("pk", "name", "order"))
    grouped = [sources.grouped_buckets(MetricFilters(first=first, last=last, journey=journey.pk), Dimension.STAGE)
               for first, last in (previous, current)]
    rows = [_row(tenant, pk, name, order, grouped[0].get(str(pk), Bucket()), grouped[1].get(str(pk), Bucket()))
            for pk, name, order in stages]
    total = _row(tenant, None, journey.name, 0, Bucket.merge(grouped[0].values()), Bucket.merge(grouped[1].values()))
    vol = [_volatility(tenant, journey, first, last) for first, last in (previous, current)]
    transitions = []
    before = {(t["from_stage"], t["to_stage"]): t for t in vol[0].transitions}
    after = {(t["from_stage"], t["to_stage"]): t for t in vol[1].transitions}
    order = {str(s.uuid): s.order for s in Stage.objects.filter(journey=journey)} if (before or after) else {}
    for key in sorted(set(before) | set(after), key=lambda k: (order.get(k[0], -1), order.get(k[1], -1))):
        t = after.get(key) or before[key]
        empty = stats.volatility_block(0, 0, 0, tenant.min_n_other)
        transitions.append({"from_label": t["from_label"], "to_label": t["to_label"], "previous": before.get(key, empty),
                            "current": after.get(key, empty)})
    causes, opened, with_cause = _root_causes(tenant, journey, *current)
    recovery_error = ""
    try:
        recovery = [_recovery(tenant, journey, first, last) for first, last in (previous, current)]
    except ImportError:  # the recovery selector is not there: the section says so
        recovery, recovery_error = [None, None], "The recovery report is not available in this installation."
    plans = _plans(journey, [pk for pk, _, _ in stages], *current)
    return JourneyAudit(journey=journey, end=end, previous=previous, current=current, stages=rows, total=total,
                        volatility_previous=vol[0].journeys[0] if vol[0].journeys else vol[0].overall,
                        volatility_current=vol[1].journeys[0] if vol[1].journeys else vol[1].overall,
                        transitions=transitions, root_causes=causes, cases_opened=opened, cases_with_cause=with_cause,
                        recovery_previous=recovery[0], recovery_current=recovery[1], recovery_error=recovery_error, plans=plans,
                        summary=_summary(rows, total))


def journeys_for_audit():
    """Every journey, active first then by name, with its stage count (one query)."""
    from django.db.models import Case as DbCase
    from django.db.models import IntegerField, Value, When

    first_active = DbCase(When(status=Journey.Status.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
    return Journey.objects.annotate(stage_count=Count("stages", distinct=True)).order_by(first_active, "name")

