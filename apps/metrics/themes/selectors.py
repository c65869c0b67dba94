"""Theme analytics (METRICS.md "Comment themes"), from the stored sufficient statistics only (CommentRollup,
ThemeRollup, CommentCell, ThemeCell: never a comment row per request), merged over the period and derived once
(apps.metrics.stats).

Per theme: share of comments (Wilson), mean sentiment (t-interval; degenerate-interval rule), NPS impact —
NPS of the commented NPS answers with the theme minus NPS of those without it, SE = √(SE_with² + SE_without²)
with the plain NPS SE, significant when |Δ/SE| ≥ 1.96 — and its detractor-driver difference (share among
detractors' comments − share among promoters', two-proportion z-test with the pooled SE). "Without the theme"
is the comment totals minus the theme's sums, exact for any period and filter.

Which tables answer (as apps.metrics.sources for the response metrics): with at most one attribution filter,
CommentRollup/ThemeRollup of that dimension (or the tenant total); with two or more, CommentCell/ThemeCell filtered
on all of them (cells carry the full attribution, so any combination is exact). A breakdown reads the rollups of its
dimension when no other filter is given, else groups the cells by that dimension's column. A filter value of 0 (an
id; "" for the channel) selects the comments without that attribution — the "Not attributed" group — in either
table, as ResponseRollup keys it "" and the cells store 0 / "".
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from datetime import date, timedelta

from django.db.models import Sum

from apps.metrics.models import COMMENT_STAT_FIELDS, CommentCell, CommentRollup, Dimension, ThemeCell, ThemeRollup
from apps.metrics.params import MetricFilters, MetricParamError
from apps.metrics.sources import CELL_COLUMN, _filters_echo, labels, rollup_key
from apps.metrics.stats import Z95, mean_sd, nps_plain_se, rounded, t_interval, wilson
from apps.surveys.models import Theme

BY_DIMENSIONS = ("touchpoint", "stage", "journey", "segment", "staff", "survey", "channel")


@dataclasses.dataclass(frozen=True)
class Stats:
    comments: int = 0
    nps_n: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    sentiment_n: int = 0
    sentiment_sum: float = 0.0
    sentiment_sumsq: float = 0.0

    def __add__(self, other: Stats) -> Stats:
        return Stats(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    def __sub__(self, other: Stats) -> Stats:
        return Stats(*(a - b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    @classmethod
    def of(cls, row: dict) -> Stats:
        return cls(*(row.get(field) or 0 for field in COMMENT_STAT_FIELDS))


def _rounded(value):
    """`stats.rounded` through lists as well (rows of themes, points of a series)."""
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return rounded({key: _rounded(item) if isinstance(item, list) else item for key, item in value.items()})
    return value


def _source(f: MetricFilters, by: str | None = None) -> tuple[type, type, dict, str | None]:
    """(comment table, theme table, {filter: value}, the column holding `by`'s value) for the filtered comments:
    with at most one attribution filter (and a breakdown by that same dimension, if any) the rollups of that
    dimension (or `total`), otherwise the cells filtered on every given dimension (module docstring)."""
    given = f.dimensions()
    if by is None and len(given) <= 1:
        dimension, value = next(iter(given.items()), (Dimension.TOTAL.value, ""))
        return CommentRollup, ThemeRollup, {"dimension": dimension, "key": rollup_key(value)}, None
    if by is not None and set(given) <= {by}:
        where = {"dimension": by} | ({"key": rollup_key(given[by])} if given else {})
        return CommentRollup, ThemeRollup, where, "key"
    where = {CELL_COLUMN[Dimension(name)]: value for name, value in given.items()}
    return CommentCell, ThemeCell, where, CELL_COLUMN[Dimension(by)] if by else None


_SUMS = {field: Sum(field) for field in COMMENT_STAT_FIELDS}


def period_stats(f: MetricFilters, first: date, last: date) -> tuple[Stats, dict[int, Stats]]:
    """(every comment's statistics, {theme id: its comments' statistics}) over first..last. Two queries."""
    comments, by_theme, where, _ = _source(f)
    where |= {"day__gte": first, "day__lte": last}
    total = Stats.of(comments.objects.filter(**where).aggregate(**_SUMS))
    themes = {row["theme_id"]: Stats.of(row) for row in
              by_theme.objects.filter(**where).values("theme_id").annotate(**_SUMS).order_by()}
    return total, themes


# --- the figures of one theme ---------------------------------------------------------------------

def _nps(stats: Stats) -> float | None:
    return 100 * (stats.nps_promoters - stats.nps_detractors) / stats.nps_n if stats.nps_n else None


def share_block(k: int, n: int) -> dict:
    low, high = wilson(k, n) if n else (None, None)
    return {"value": 100 * k / n if n else None, "comments": k, "of": n,
            "ci_low": 100 * low if n else None, "ci_high": 100 * high if n else None}


def sentiment_block(stats: Stats, min_n: int) -> dict:
    n = stats.sentiment_n
    mean, sd = mean_sd(n, stats.sentiment_sum, stats.sentiment_sumsq)
    interval = t_interval(n, mean, sd, lower=-1.0, upper=1.0)
    if sd is not None and sd < 1e-12 and n < min_n:
        interval = None  # METRICS.md: all values equal and low_sample: no zero-width interval
    low, high = (min(interval[0], mean), max(interval[1], mean)) if interval else (None, None)
    return {"value": mean, "n": n, "ci_low": low, "ci_high": high, "low_sample": n < min_n}


def impact_block(with_theme: Stats, without: Stats, min_n: int) -> dict:
    nps_with, nps_without = _nps(with_theme), _nps(without)
    delta = nps_with - nps_without if nps_with is not None and nps_without is not None else None
    se = None
    if delta is not None:
        se_with = nps_plain_se(with_theme.nps_promoters, with_theme.nps_detractors, with_theme.nps_n)
        se_without = nps_plain_se(without.nps_promoters, without.nps_detractors, without.nps_n)
        se = math.sqrt(se_with ** 2 + se_without ** 2)
    z = delta / se if delta is not None and se else None
    return {"value": delta, "nps_with": nps_with, "n_with": with_theme.nps_n, "nps_without": nps_without, "n_without": without.nps_n,
            "se": se, "ci_low": delta - Z95 * se if se else None, "ci_high": delta + Z95 * se if se else None,
            "z": z, "significant": abs(z) >= Z95 if z is not None else None,
            "low_sample": with_theme.nps_n < min_n or without.nps_n < min_n}


def driver_block(theme: Stats, total: Stats) -> dict:
    """Share among detractors' comments − share among promoters' comments (percentage points), pooled z-test."""
    k_d, n_d, k_p, n_p = theme.nps_detractors, total.nps_detractors, theme.nps_promoters, total.nps_promoters
    if not n_d or not n_p:
        return {"value": None, "detractor_share": 100 * k_d / n_d if n_d else None,
                "promoter_share": 100 * k_p / n_p if n_p else None, "z": None, "significant": None}
    p_d, p_p = k_d / n_d, k_p / n_p
    pooled = (k_d + k_p) / (n_d + n_p)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_d + 1 / n_p))
    z = (p_d - p_p) / se if se else None
    return {"value": 100 * (p_d - p_p), "detractor_share": 100 * p_d, "promoter_share": 100 * p_p,
            "detractors": k_d, "of_detractors": n_d, "promoters": k_p, "of_promoters": n_p,
            "z": z, "significant": abs(z) >= Z95 if z is not None else None}


def share_change(current: dict, previous: dict) -> dict:
    """The change of a share between two independent periods, in percentage points, with the two-proportion z-test
    (pooled SE) and significance at |z| ≥ 1.96; z is None when either period has fewer than 2 comments or the pooled
    share is 0 or 1 (the test is undefined)."""
    k1, n1, k2, n2 = current["comments"], current["of"], previous["comments"], previous["of"]
    delta = 100 * (k1 / n1 - k2 / n2) if n1 and n2 else None
    z = None
    if n1 >= 2 and n2 >= 2:
        pooled = (k1 + k2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k1 / n1 - k2 / n2) / se if se else None
    return {"delta": delta, "z": z, "significant": abs(z) >= Z95 if z is not None else None}


def theme_figures(theme: Stats, total: Stats, *, min_n_nps: int, min_n_other: int) -> dict:
    """Every figure of one theme against the comments of the same period and filter (unrounded)."""
    without = total - theme
    return {"share": share_block(theme.comments, total.comments), "sentiment": sentiment_block(theme, min_n_other),
            "nps_impact": impact_block(theme, without, min_n_nps), "driver": driver_block(theme, total)}


# --- reports --------------------------------------------------------------------------------------

def _themes() -> dict[int, Theme]:
    return {t.pk: t for t in Theme.objects.filter(is_active=True).only("id", "uuid", "name", "model_active", "is_active")}


def themes_report(f: MetricFilters, tenant) -> dict:
    """Every active theme's figures over the period (most commented first), the comments' own totals, and
    the detractor drivers (themes by their driver difference, largest first). Rounded for output."""
    total, by_theme = period_stats(f, f.first, f.last)
    previous_total, previous = period_stats(f, f.previous_first, f.previous_last)
    min_n = {"min_n_nps": tenant.min_n_nps, "min_n_other": tenant.min_n_other}
    rows = []
    for theme_id, theme in _themes().items():
        stats = by_theme.get(theme_id, Stats())
        before = previous.get(theme_id, Stats())
        figures = theme_figures(stats, total, **min_n)
        figures["previous_share"] = share_block(before.comments, previous_total.comments)
        figures["share_change"] = share_change(figures["share"], figures["previous_share"])
        rows.append({"id": str(theme.uuid), "pk": theme_id, "name": theme.name, **figures})
    rows.sort(key=lambda r: (-r["share"]["comments"], r["name"].casefold()))
    drivers = sorted((r for r in rows if r["driver"]["value"] is not None), key=lambda r: -r["driver"]["value"])
    comments = {"comments": total.comments, "nps": {"n": total.nps_n, "promoters": total.nps_promoters,
                                                    "detractors": total.nps_detractors, "value": _nps(total)},
                "sentiment": sentiment_block(total, tenant.min_n_other)}
    return {"first": f.first, "last": f.last, "filters": _filters_echo(f),
            **_rounded({"comments": comments, "themes": rows, "drivers": [r["id"] for r in drivers]})}


def _periods(first: date, last: date, interval: str) -> list[tuple[date, date]]:
    out, start = [], first
    while start <= last:
        if interval == "week":
            end = start + timedelta(days=6 - start.weekday())
        elif interval == "month":
            end = (start.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            end = start
        end = min(end, last)
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def themes_trend(f: MetricFilters, interval: str = "month") -> dict:
    """Per active theme, its share of comments in each week or month of the period. Two queries."""
    comments_table, themes_table, where, _ = _source(f)
    where |= {"day__gte": f.first, "day__lte": f.last}
    periods = _periods(f.first, f.last, interval)
    starts = [start for start, _ in periods]

    def bucket_of(day: date) -> int:
        return bisect.bisect_right(starts, day) - 1  # the periods are contiguous and cover first..last

    totals = [0] * len(periods)
    for day, comments in comments_table.objects.filter(**where).values("day").annotate(n=Sum("comments")).order_by().values_list("day", "n"):
        totals[bucket_of(day)] += comments
    counts: dict[int, list[int]] = {}
    for theme_id, day, comments in (themes_table.objects.filter(**where).values("theme_id", "day").annotate(n=Sum("comments")).order_by()
                                    .values_list("theme_id", "day", "n")):
        counts.setdefault(theme_id, [0] * len(periods))[bucket_of(day)] += comments
    series = []
    for theme_id, theme in _themes().items():
        row = counts.get(theme_id, [0] * len(periods))
        series.append({"id": str(theme.uuid), "name": theme.name,
                       "points": [{"start": start.isoformat(), "end": end.isoformat(), **share_block(k, n)}
                                  for (start, end), k, n in zip(periods, row, totals, strict=True)]})
    return {"first": f.first, "last": f.last, "filters": _filters_echo(f),
            **_rounded({"interval": interval, "comments": totals, "series": series})}


def themes_by(f: MetricFilters, by: str, tenant) -> dict:
    """Each active theme's share, sentiment and NPS impact per value of one dimension (touchpoint, stage,
    segment, staff…) over the period, among the comments the other filters select (the cells grouped by `by`'s column
    when another filter is given). Two queries plus the labels."""
    if by not in BY_DIMENSIONS:
        raise MetricParamError("unknown_dimension", "by", f"`by` must be one of: {', '.join(BY_DIMENSIONS)}.")
    comments, by_theme, where, column = _source(f, by)
    where |= {"day__gte": f.first, "day__lte": f.last}
    totals: dict[str, Stats] = {}
    for row in comments.objects.filter(**where).values(column).annotate(**_SUMS).order_by():
        key = rollup_key(row[column])  # cells: 0 and "" are the one key "" ("Not attributed")
        totals[key] = totals.get(key, Stats()) + Stats.of(row)
    cells: dict[tuple[str, int], Stats] = {}
    for row in by_theme.objects.filter(**where).values(column, "theme_id").annotate(**_SUMS).order_by():
        key = (rollup_key(row[column]), row["theme_id"])
        cells[key] = cells.get(key, Stats()) + Stats.of(row)
    names = labels(by, totals)
    themes = _themes()
    groups = []
    for key, total in sorted(totals.items(), key=lambda item: -item[1].comments):
        public, label = names.get(key, (None, key))
        groups.append({"key": public, "label": label, "comments": total.comments, "themes": [
            {"id": str(theme.uuid), "name": theme.name,
             **theme_figures(cells.get((key, theme_id), Stats()), total, min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)}
            for theme_id, theme in themes.items()]})
    return {"first": f.first, "last": f.last, "filters": _filters_echo(f), **_rounded({"by": by, "groups": groups})}
