"""Churn and retention (METRICS.md "Churn and retention"): per period, per `active_from` cohort, in
revenue, and as a Kaplan–Meier tenure curve. Read from the small per-client table (Client rows of the
active tenant, one query), computed with numpy/pandas.

Readings of the rules, applied everywhere in this module:

- **Which clients.** Every client of the active tenant except prospects (`status = prospect`: not a
  client yet), optionally only those *currently* in `segment_id` (churn is about accounts, so the
  client's present segment is used; responses keep their submission-time segment, but clients have no
  segment history).
- **Days.** `active_from` is the first day a client is active, `churned_on` the first day it is not.
  A client is active on day d when active_from ≤ d < churned_on (or no churned_on). "Active at the
  start of a period [start, end)" is therefore active_from < start ≤ churned_on: a client that became
  active on `start` itself is new (N) in that period, one that churned on `start` is lost (L) in it.
- **Periods.** Calendar periods (day; week from Monday; month; quarter; year) cut to first..last: the
  first and last period may be partial (`partial: true`); `total` is the whole range as one period.
- S = active at start, L = clients of S whose churned_on falls in [start, end), N = active_from in
  [start, end), E = active at end. Churn rate = L / S with the Wilson 95% interval; retention rate =
  (E − N) / S, computed from its own counts, never as 1 − churn (the two differ by the new clients who
  also left within the period). Rates are in %, rounded to one decimal; a rate with S = 0 is None.
- **Revenue churn** = annual value of L / annual value of S, over the clients of S whose annual value
  is known; `clients_without_value` says how many of S had none (they are left out of both sums).
- **Cohorts** are the calendar quarters of `active_from` that overlap first..last (whole quarters).
  "% still active after m months" counts, among the cohort's clients whose date active_from + m
  months has been reached by `today`, those still active on that date (churned_on after it, or none);
  clients whose milestone lies in the future are not yet observable and left out (`n` says how many
  were counted). Wilson 95% intervals.
- **Tenure curve**: Kaplan–Meier over the clients that became active by `today`: duration =
  (churned_on or today) − active_from in days, an event when churned_on ≤ today, censored at today
  otherwise. Greenwood's variance with the log(−log) transform for the 95% interval (it stays inside
  [0, 1]); the median tenure is the first day the survival falls to 50% or below (None if it never
  does).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd

from apps.core.dates import local_today
from apps.metrics.stats import round_half_away, wilson
from apps.tenancy.context import require_current_tenant

INTERVALS = ("day", "week", "month", "quarter", "year")
# Days are held as datetime64 in seconds, not pandas' default nanoseconds: nanoseconds only reach
# 1677–2262, and a client's dates may lie anywhere a Python date can (a typo such as 1024-01-01
# stored before dates were checked at the edge, issue 15). Seconds reach ±2.9e11 years.
UNIT = "s"
COHORT_MONTHS = (3, 6, 12)
Z95 = 1.959963984540054


# --- small helpers ------------------------------------------------------------------------------

def _r1(x: float | None) -> float | None:
    """One decimal, half away from zero like every other number (METRICS.md "Rounding"): 11.25 → 11.3."""
    return round_half_away(x, 1)


def _rate(k: int, n: int) -> dict:
    """k/n in % with its Wilson 95% interval (None values when n = 0)."""
    if n <= 0:
        return {"value": None, "k": int(k), "n": int(n), "ci_low": None, "ci_high": None}
    low, high = wilson(int(k), int(n))
    return {"value": _r1(100 * k / n), "k": int(k), "n": int(n), "ci_low": _r1(100 * low), "ci_high": _r1(100 * high)}


def _period_start(day: date, interval: str) -> date:
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    if interval == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _next_start(start: date, interval: str) -> date:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_bounds(first: date, last: date, interval: str) -> list[tuple[date, date, bool]]:
    """[start, end) calendar periods covering first..last, cut to the range: (start, end, partial)."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    if last < first:
        raise ValueError("last is before first")
    stop = last + timedelta(days=1)
    bounds = []
    start = _period_start(first, interval)
    while start < stop:
        end = _next_start(start, interval)
        cut_start, cut_end = max(start, first), min(end, stop)
        bounds.append((cut_start, cut_end, (cut_start, cut_end) != (start, end)))
        start = end
    return bounds


def day64(day: date) -> np.datetime64:
    return np.datetime64(day, UNIT)


def days64(days) -> np.ndarray:
    """Python dates (None for none) as a datetime64 array in UNIT (NaT for none), whatever the year."""
    days = [day if isinstance(day, date) else None for day in days]  # NaN from an all-empty column is none too
    return np.array(days, dtype="datetime64[D]").astype(f"datetime64[{UNIT}]")


def _clients_frame(segment_id: int | None) -> pd.DataFrame:
    from apps.clients.models import Client

    rows = Client.objects.exclude(status=Client.Status.PROSPECT)
    if segment_id is not None:
        rows = rows.filter(segment_id=segment_id)
    frame = pd.DataFrame.from_records(
        list(rows.values_list("id", "active_from", "churned_on", "annual_value")),
        columns=["id", "active_from", "churned_on", "annual_value"],
    )
    frame["active_from"] = days64(frame["active_from"])
    frame["churned_on"] = days64(frame["churned_on"])
    frame["annual_value"] = pd.to_numeric(frame["annual_value"].astype(object), errors="coerce").astype(float)
    return frame


# --- periods ------------------------------------------------------------------------------------

def _before(x: np.ndarray, weights: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ weights of the x strictly before each boundary of b (x sorted inside; NaT ignored)."""
    keep = ~np.isnat(x)
    x, weights = x[keep], weights[keep]
    order = np.argsort(x, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    return cumulative[np.searchsorted(x[order], b, side="left")]


def _in_period(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The index of the period [b[i], b[i+1]) each x falls in, −1 outside (NaT too)."""
    index = np.searchsorted(b, x, side="right") - 1
    return np.where(~np.isnat(x) & (x >= b[0]) & (x < b[-1]), index, -1)


def period_counts(frame: pd.DataFrame, b: np.ndarray) -> pd.DataFrame:
    """S, L, N, E and the revenue sums of the contiguous periods [b[i], b[i+1]) (datetime64 array),
    in O((clients + periods) log clients). With churned_on ≥ active_from,
    S(t) = #{active_from < t} − #{churned_on < t}, E = S(end), N = #{start ≤ active_from < end} and
    L = #{churned_on in the period} − #{active_from and churned_on both in it} (new and lost at once).
    `frame` has active_from, churned_on (NaT when none) and annual_value (NaN when unknown)."""
    af = frame["active_from"].to_numpy()
    co = frame["churned_on"].to_numpy()
    co = np.where(np.isnat(co), co, np.maximum(co, af))  # a churn date before the start counts as the start
    value = frame["annual_value"].to_numpy()
    periods = len(b) - 1

    def stocks(weights):
        at = _before(af, weights, b) - _before(co, weights, b)
        idx_af, idx_co = _in_period(af, b), _in_period(co, b)
        both = (idx_co >= 0) & (idx_co == idx_af)
        lost = np.bincount(idx_co[idx_co >= 0], weights[idx_co >= 0], minlength=periods)
        lost -= np.bincount(idx_co[both], weights[both], minlength=periods)
        new = np.bincount(idx_af[idx_af >= 0], weights[idx_af >= 0], minlength=periods)
        return at[:-1], lost, new, at[1:]

    ones = np.ones(len(frame))
    known = ~np.isnan(value)
    S, L, N, E = stocks(ones)
    S_value, L_value, _n, _e = stocks(np.where(known, value, 0.0))
    S_no_value, _l, _n, _e = stocks((~known).astype(float))
    return pd.DataFrame({
        "S": S.round().astype(int), "L": L.round().astype(int), "N": N.round().astype(int), "E": E.round().astype(int),
        "S_value": S_value, "L_value": L_value, "S_no_value": S_no_value.round().astype(int),
    })


def _period_row(start: date, end: date, partial: bool, row) -> dict:
    S, L, N, E = int(row.S), int(row.L), int(row.N), int(row.E)
    retained = E - N
    retention = {"value": None, "k": retained, "n": S, "ci_low": None, "ci_high": None}
    if S > 0:
        retention["value"] = _r1(100 * retained / S)
        if 0 <= retained <= S:
            low, high = wilson(retained, S)
            retention["ci_low"], retention["ci_high"] = _r1(100 * low), _r1(100 * high)
    start_value, lost_value = float(row.S_value), float(row.L_value)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),  # exclusive
        "partial": partial,
        "at_start": S, "lost": L, "new": N, "at_end": E,
        "churn": _rate(L, S),
        "retention": retention,
        "revenue_churn": {
            "value": _r1(100 * lost_value / start_value) if start_value > 0 else None,
            "lost_value": round_half_away(lost_value, 2),
            "start_value": round_half_away(start_value, 2),
            "clients_without_value": int(row.S_no_value),
        },
    }


# --- cohorts ------------------------------------------------------------------------------------

def cohorts(frame: pd.DataFrame, first: date, last: date, today: date) -> list[dict]:
    """Quarterly `active_from` cohorts overlapping first..last with % still active after 3/6/12 months."""
    quarters = period_bounds(_period_start(first, "quarter"), _next_start(_period_start(last, "quarter"), "quarter") - timedelta(days=1),
                             "quarter")
    today64 = day64(today)
    out = []
    for start, end, _partial in quarters:
        members = frame[(frame["active_from"] >= day64(start)) & (frame["active_from"] < day64(end))]
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        row = {"cohort": label, "start": start.isoformat(), "size": len(members), "active_after": []}
        for months in COHORT_MONTHS:
            milestone = members["active_from"] + pd.DateOffset(months=months)
            observed = (milestone <= today64).to_numpy()
            churned = members["churned_on"].to_numpy()
            still = observed & (np.isnat(churned) | (churned > milestone.to_numpy()))
            row["active_after"].append({"months": months, **_rate(int(still.sum()), int(observed.sum()))})
        out.append(row)
    return out


# --- Kaplan–Meier -------------------------------------------------------------------------------

def kaplan_meier(durations, events) -> list[dict]:
    """Kaplan–Meier survival with Greenwood's variance and the log(−log) 95% interval, unrounded.

    One point at day 0 (survival 1) and one per distinct event time t: at_risk = clients with
    duration ≥ t, events = churns at t, S(t) = Π (1 − d/n), Var via Greenwood Σ d/(n(n − d)); the
    interval is S^exp(±z·√Σ / |log S|). With S = 1 the interval is [1, 1]; with S = 0 it is None."""
    data = pd.DataFrame({"t": np.asarray(durations, dtype=np.int64), "e": np.asarray(events, dtype=bool)})
    points = [{"days": 0, "at_risk": len(data), "events": 0, "survival": 1.0, "ci_low": 1.0, "ci_high": 1.0}]
    if data.empty:
        return points
    by_time = data.groupby("t")["e"].agg(["size", "sum"]).sort_index()
    at_risk = by_time["size"][::-1].cumsum()[::-1]
    survival, greenwood = 1.0, 0.0
    for t, n, d in zip(by_time.index, at_risk, by_time["sum"], strict=True):
        if d == 0:
            continue
        n, d = int(n), int(d)
        survival *= 1 - d / n
        greenwood = greenwood + d / (n * (n - d)) if n > d else math.inf
        if survival <= 0 or math.isinf(greenwood):
            low = high = None
            survival = max(survival, 0.0)
        else:
            log_s = math.log(survival)
            spread = Z95 * math.sqrt(greenwood) / abs(log_s) if log_s != 0 else 0.0
            low, high = survival ** math.exp(spread), survival ** math.exp(-spread)
        if t == 0:
            points[0].update(events=d, survival=survival, ci_low=low, ci_high=high)
        else:
            points.append({"days": int(t), "at_risk": n, "events": d, "survival": survival, "ci_low": low, "ci_high": high})
    return points


def median_tenure(points: list[dict]) -> int | None:
    """The first day the Kaplan–Meier survival is 50% or below."""
    return next((p["days"] for p in points if p["survival"] <= 0.5), None)


def tenure_curve(frame: pd.DataFrame, today: date) -> dict:
    today64 = day64(today)
    started = frame[frame["active_from"] <= today64]
    churned = started["churned_on"].to_numpy()
    event = ~np.isnat(churned) & (churned <= today64)
    end = np.where(event, churned, today64)
    durations = ((end - started["active_from"].to_numpy()) // np.timedelta64(1, "D")).astype(np.int64)
    points = kaplan_meier(durations, event)
    curve = [{"days": p["days"], "at_risk": p["at_risk"], "events": p["events"], "survival": _r1(100 * p["survival"]),
              "ci_low": _r1(None if p["ci_low"] is None else 100 * p["ci_low"]),
              "ci_high": _r1(None if p["ci_high"] is None else 100 * p["ci_high"])} for p in points]
    return {"n": int(len(started)), "events": int(event.sum()), "median_days": median_tenure(points), "curve": curve}


# --- the report ---------------------------------------------------------------------------------

def churn_report(tenant, *, first: date, last: date, interval: str = "month", segment_id: int | None = None,
                 today: date | None = None) -> dict:
    """Churn, retention and revenue churn per period of first..last, quarterly cohorts and the tenure
    curve (METRICS.md "Churn and retention"; the readings are in the module docstring). Runs with
    `tenant` active; `today` (tenant-local, default now) censors the cohorts and the tenure curve.

    Returns {"first", "last", "interval", "segment_id", "today", "periods": [...], "total": {...},
    "cohorts": [...], "tenure": {"n", "events", "median_days", "curve": [{days, at_risk, events,
    survival, ci_low, ci_high}]}}; rates and survival in %, dates ISO."""
    active = require_current_tenant()
    if active.pk != tenant.pk:
        raise ValueError("churn_report runs with its tenant active")
    bounds = period_bounds(first, last, interval)
    today = today or local_today(tenant.time_zone)
    frame = _clients_frame(segment_id)

    stop = last + timedelta(days=1)
    edges = np.array([day64(s) for s, _e, _p in bounds] + [day64(stop)])
    rows = period_counts(frame, edges).itertuples(index=False)
    periods = [_period_row(s, e, p, row) for (s, e, p), row in zip(bounds, rows, strict=True)]
    whole = next(period_counts(frame, np.array([day64(first), day64(stop)])).itertuples(index=False))
    total = _period_row(first, stop, False, whole)

    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "interval": interval,
        "segment_id": segment_id,
        "today": today.isoformat(),
        "periods": periods,
        "total": total,
        "cohorts": cohorts(frame, first, last, today),
        "tenure": tenure_curve(frame, today),
    }
