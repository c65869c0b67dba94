"""Recovery, measured (issue 8 item 3): did resolving a case win the client back?

The rule (extends METRICS.md; the dashboard's "How is this computed?" says it in words,
apps.metrics.explanations "recovery"):

- **Counted case.** A case counts when it was opened from a *negative* answer — `trigger_metric` nps
  with `trigger_score` 0–6, csat 1–2, ces 1–3 ("detractor" in the wide sense) — and its recovery
  invitation (`Case.recovery_invitation`, sent on resolution) was answered with the **same metric**
  (the recovery response's nps/csat/ces column matching `trigger_metric` is not empty; bot-flagged
  responses never count). Its day is the recovery response's `local_day` (tenant time zone); the
  period's range applies to that day. The case's current status does not matter (a case reopened after
  its recovery answer still counts that answer).
- **Recovered.** The recovery answer is out of the negative band: NPS ≥ 7, CSAT ≥ 3, CES ≥ 4.
- **Rate** = recovered / n, in %, with the Wilson 95% interval (`stats.wilson`).
- **Change** = mean of (recovery score − trigger score), in the metric's own points, with the 95%
  t-interval (`stats.mean_sd`, `stats.t_interval`; none below n = 2). NPS points are on 0–10, CSAT on
  1–5, CES on 1–7, so the overall change mixes scales when several metrics open cases: `metrics`
  gives the change per trigger metric for reading it in one scale.
- **low_sample**: n below the tenant's `min_n_other`.

Per root cause (the case's root cause; "No root cause" when none) and per staff member — **the case's
assignee** ("Unassigned" when none; not `resolved_by`, the assignee is whom the case was given to).

Filters (`MetricFilters`):
- `first`..`last`: the recovery response's `local_day`.
- `touchpoint`, `stage`, `journey`, `segment`, `survey`, `channel`: the attribution of the case's
  **original response** (`Case.response`, the answer that opened it). A case without an original
  response (opened from an interaction or a client) matches none of them, so it is left out whenever
  one of these filters is given.
- `staff`: the case's **assignee** — the same person as the per-staff rows, and what "my cases"
  means for a staff member (the dashboard forces it to the reader for staff).

Counters for the tiles, under the same filters: `answered` (recovery surveys answered in the period,
whatever the metric or the trigger), `resolved` (cases resolved in the period — `resolved_at`'s
tenant-local day — that are still resolved) and `recovery_sent` (those of them with a recovery
invitation).

Queries: a fixed number whatever the data size — one grouped aggregate (root cause × assignee ×
metric), one count for the resolved cases, and at most one label query per dimension (root causes,
members). Runs with `tenant` active (scoped managers and row-level security).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.db import models
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Q, QuerySet, Sum, Value, When

from apps.core.dates import days_bounds
from apps.feedback.models import Case, RootCause
from apps.metrics import stats
from apps.metrics.params import UUID_FILTERS, MetricFilters, MetricParamError, optional, parse_filters
from apps.tenancy.models import Membership

# The negative band (a case opened from it counts) and where recovery starts, per metric.
NEGATIVE = {"nps": (0, 6), "csat": (1, 2), "ces": (1, 3)}
RECOVERED_FROM = {"nps": 7, "csat": 3, "ces": 4}
# The range a score difference can take per metric (clips the t-interval).
CHANGE_RANGE = {"nps": 10, "csat": 4, "ces": 6}
METRIC_LABELS = {"nps": "NPS (0–10)", "csat": "CSAT (1–5)", "ces": "CES (1–7)"}
NO_ROOT_CAUSE = "No root cause"
UNASSIGNED = "Unassigned"
REMOVED = "Removed"

# Filters applied to the case's original response.
RESPONSE_FILTERS = ("touchpoint", "stage", "journey", "segment", "survey")


@dataclass(frozen=True)
class RecoveryReport:
    first: date
    last: date
    filters: dict
    overall: dict  # {"n", "recovered", "rate", "low", "high", "low_sample", "change": {"n", "mean", "low", "high"}}
    root_causes: list[dict]  # the same block + "key" (uuid or None), "label"
    staff: list[dict]  # the same block + "key" (membership uuid or None), "label"
    metrics: list[dict]  # the same block + "key" (nps/csat/ces), "label" — the change in one scale each
    answered: int  # recovery surveys answered in the period (counted or not)
    resolved: int  # cases resolved in the period
    recovery_sent: int  # … of which a recovery survey was sent

    @property
    def has_data(self) -> bool:
        return self.overall["n"] > 0


def _negative() -> Q:
    q = Q()
    for metric, (low, high) in NEGATIVE.items():
        q |= Q(trigger_metric=metric, trigger_score__gte=low, trigger_score__lte=high)
    return q


def _recovered() -> Q:
    q = Q()
    for metric, low in RECOVERED_FROM.items():
        q |= Q(trigger_metric=metric, recovery_score__gte=low)
    return q


def _filtered(cases, f: MetricFilters):
    """The cases matching the attribution filters (see the module docstring)."""
    for name in RESPONSE_FILTERS:
        value = getattr(f, name)
        if value is not None:
            cases = cases.filter(**{f"response__{name}_id": value})
    if f.channel is not None:
        cases = cases.filter(response__channel=f.channel)
    if f.staff is not None:
        cases = cases.filter(assignee_id=f.staff)
    return cases


def block(parts: list[dict], *, min_n: int, spread: int = 10) -> dict:
    """A recovery block from grouped sums (n, recovered, dsum, dsq): the rate with its Wilson interval
    and the mean change with its t-interval, rounded like every metrics block."""
    n = sum(p["n"] for p in parts)
    recovered = sum(p["recovered"] for p in parts)
    dsum = sum(p["dsum"] for p in parts)
    dsq = sum(p["dsq"] for p in parts)
    rate = 100 * recovered / n if n else None
    low = high = None
    if n:
        w_low, w_high = stats.wilson(recovered, n)
        low, high = min(100 * w_low, rate), max(100 * w_high, rate)
    mean, sd = stats.mean_sd(n, dsum, dsq)
    interval = stats.t_interval(n, mean, sd, lower=-float(spread), upper=float(spread))
    c_low, c_high = (min(interval[0], mean), max(interval[1], mean)) if interval else (None, None)
    return stats.rounded({"n": n, "recovered": recovered, "rate": rate, "low": low, "high": high, "low_sample": n < min_n,
                          "change": {"n": n, "mean": mean, "low": c_low, "high": c_high}})


def _spread(parts: list[dict]) -> int:
    metrics = {p["trigger_metric"] for p in parts if p["n"]}
    return max((CHANGE_RANGE[m] for m in metrics), default=10)


def _rows(sums: list[dict], column: str, names: dict, *, empty_label: str, min_n: int) -> list[dict]:
    groups: dict = {}
    for row in sums:
        groups.setdefault(row[column], []).append(row)
    out = []
    for pk, parts in groups.items():
        if not sum(p["n"] for p in parts):
            continue  # answered, but nothing counted (another metric asked, or a non-negative trigger)
        key, label = (None, empty_label) if pk is None else names.get(pk, (None, REMOVED))
        out.append({"key": key, "label": label, **block(parts, min_n=min_n, spread=_spread(parts))})
    out.sort(key=lambda r: (-r["n"], r["label"].casefold()))
    return out


def _answered(f: MetricFilters) -> QuerySet[Case]:
    """The cases with a recovery answer in f's days, under f's filters, with `recovery_score` (the answer's
    score on the trigger's metric) and `delta` (recovery − trigger score) as aliases."""
    score = models.Case(*(When(trigger_metric=m, then=F(f"recovery_invitation__responses__{m}")) for m in NEGATIVE),
                        default=Value(None), output_field=IntegerField())
    delta = ExpressionWrapper(F("recovery_score") - F("trigger_score"), output_field=IntegerField())
    return _filtered(Case.objects.filter(recovery_invitation__isnull=False,
                                         recovery_invitation__responses__is_bot=False,
                                         recovery_invitation__responses__local_day__range=(f.first, f.last)), f
                     ).alias(recovery_score=score, delta=delta)


def _counted() -> Q:
    return Q(recovery_score__isnull=False) & _negative()


def _resolved(tenant, f: MetricFilters) -> QuerySet[Case]:
    start, end = days_bounds(tenant.time_zone, f.first, f.last)
    return _filtered(Case.objects.filter(status=Case.Status.RESOLVED, resolved_at__gte=start, resolved_at__lt=end), f)


def recovery_report(tenant, f: MetricFilters) -> RecoveryReport:
    """The recovery rate and score change, overall, per root cause and per assignee (module docstring)."""
    counted = _counted()
    sums = list(_answered(f)
                .values("root_cause_id", "assignee_id", "trigger_metric")
                .annotate(answered=Count("id"), n=Count("id", filter=counted), recovered=Count("id", filter=counted & _recovered()),
                          dsum=Sum("delta", filter=counted), dsq=Sum(F("delta") * F("delta"), filter=counted))
                .order_by())
    for row in sums:
        row["dsum"], row["dsq"] = int(row["dsum"] or 0), int(row["dsq"] or 0)
    resolved = _resolved(tenant, f).aggregate(resolved=Count("id"), sent=Count("id", filter=Q(recovery_invitation__isnull=False)))

    min_n = tenant.min_n_other
    cause_ids = sorted({r["root_cause_id"] for r in sums if r["root_cause_id"] and r["n"]})
    causes = {pk: (str(public), name) for pk, public, name in
              RootCause.objects.filter(pk__in=cause_ids).values_list("pk", "uuid", "name")} if cause_ids else {}
    member_ids = sorted({r["assignee_id"] for r in sums if r["assignee_id"] and r["n"]})
    members = {pk: (str(public), full_name or email) for pk, public, full_name, email in
               Membership.objects.filter(pk__in=member_ids).values_list("pk", "uuid", "user__full_name", "user__email")
               } if member_ids else {}
    metric_names = {m: (m, label) for m, label in METRIC_LABELS.items()}
    per_metric = _rows(sums, "trigger_metric", metric_names, empty_label="", min_n=min_n)
    order = list(NEGATIVE)
    per_metric.sort(key=lambda r: order.index(r["key"]))
    return RecoveryReport(
        first=f.first, last=f.last,
        filters={**{name: f.uuids.get(name) for name in (*RESPONSE_FILTERS, "staff")}, "channel": f.channel},
        overall=block(sums, min_n=min_n, spread=_spread(sums)),
        root_causes=_rows(sums, "root_cause_id", causes, empty_label=NO_ROOT_CAUSE, min_n=min_n),
        staff=_rows(sums, "assignee_id", members, empty_label=UNASSIGNED, min_n=min_n),
        metrics=per_metric,
        answered=sum(r["answered"] for r in sums),
        resolved=resolved["resolved"], recovery_sent=resolved["sent"],
    )


# --- the cases behind a number (the page's drill-down into the case list) ----------------------------

# Which cases a number of the page counts: those with a recovery answer in the period ("answered"), of
# them those counted in the rate ("counted") and those recovered ("recovered"); the cases resolved in the
# period and still resolved ("resolved") and of them those sent a recovery survey ("sent").
CASE_SETS = {
    "answered": "with a recovery answer",
    "counted": "counted in the recovery rate",
    "recovered": "recovered",
    "resolved": "resolved (and still resolved)",
    "sent": "resolved with a recovery survey sent",
}


def recovery_cases(tenant, f: MetricFilters, which: str, *, metric: str | None = None) -> QuerySet[Case]:
    """The cases a number of the recovery report counts (CASE_SETS), under the same filters as the report —
    so the case list drilled into from a number holds exactly its n. `metric` narrows to one trigger metric
    (the per-metric change lines). A queryset of case ids, to filter the list with."""
    if which in ("resolved", "sent"):
        cases = _resolved(tenant, f)
        if which == "sent":
            cases = cases.filter(recovery_invitation__isnull=False)
    elif which in ("answered", "counted", "recovered"):
        cases = _answered(f)
        if which != "answered":
            cases = cases.filter(_counted() & (_recovered() if which == "recovered" else Q()))
    else:
        raise ValueError(f"unknown case set {which!r}")
    if metric is not None:
        cases = cases.filter(trigger_metric=metric)
    return cases.values("pk")


@dataclass(frozen=True)
class RecoveryScope:
    """A recovery number's cases, as the case list's address gives them: `recovery=<set>`, the page's
    `from`/`to` and filters (the dashboards' names), and `metric` for one trigger metric."""

    which: str
    filters: MetricFilters
    metric: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """The query parameters that give this scope back (the list's form carries them as hidden inputs)."""
        f = self.filters
        params = {"recovery": self.which, "from": f.first.isoformat(), "to": f.last.isoformat(), **f.uuids}
        if f.channel:
            params["channel"] = f.channel
        if self.metric:
            params["metric"] = self.metric
        return params

    @property
    def page_query(self) -> str:
        """The recovery page's own query string for this period and these filters (its "custom" range)."""
        return urlencode({"period": "custom", **{k: v for k, v in self.params.items() if k not in ("recovery", "metric")}})

    @property
    def description(self) -> str:
        f = self.filters
        day = "the day it was resolved" if self.which in ("resolved", "sent") else "the recovery answer's day"
        span = f"{f.first:%-d %b %Y} – {f.last:%-d %b %Y}" if f.first != f.last else f"{f.first:%-d %b %Y}"
        metric = f", opened from a {METRIC_LABELS[self.metric]} answer" if self.metric else ""
        return f"The cases {CASE_SETS[self.which]}{metric}, {span} by {day}, as the recovery page counts them"


def parse_scope(params, tenant) -> RecoveryScope | None:
    """The scope in `params` (None without `recovery`), or MetricParamError for a bad one: the period is
    required (`from` and `to`), the filters are the dashboards' (public uuids in this workspace)."""
    which = optional(params, "recovery")
    if which is None:
        return None
    if which not in CASE_SETS:
        raise MetricParamError("invalid_recovery", "recovery", f"`recovery` must be one of: {', '.join(CASE_SETS)}.")
    for name in ("from", "to"):
        if optional(params, name) is None:
            raise MetricParamError("missing_period", name, "A recovery number's cases need its period: `from` and `to`.")
    metric = optional(params, "metric")
    if metric is not None and metric not in NEGATIVE:
        raise MetricParamError("invalid_metric", "metric", f"`metric` must be one of: {', '.join(NEGATIVE)}.")
    return RecoveryScope(which=which, filters=parse_filters(params, tenant), metric=metric)


FILTER_LABELS = {"survey": "Survey", "touchpoint": "Touchpoint", "stage": "Stage", "journey": "Journey", "segment": "Segment",
                 "staff": "Assignee"}


def recovery_filter_labels(f: MetricFilters) -> tuple[str, ...]:
    """"Touchpoint: Kick-off", … for the filters of f (one query per filter given)."""
    out = []
    for name, model in UUID_FILTERS.items():
        pk = getattr(f, name)
        if pk is None:
            continue
        if model is Membership:
            row = model.objects.filter(pk=pk).values_list("user__full_name", "user__email").first()
            label = (row[0] or row[1]) if row else REMOVED
        else:
            label = model.objects.filter(pk=pk).values_list("name", flat=True).first() or REMOVED
        out.append(f"{FILTER_LABELS[name]}: {label}")
    if f.channel:
        out.append(f"Channel: {f.channel}")
    return tuple(out)
