"""The theme statistics (METRICS.md "Comment themes"), recomputed from the response and theme rows of the days a
change touched: CommentRollup and ThemeRollup rows per tenant-local day × dimension value (a report with at most one
attribution filter), and CommentCell and ThemeCell rows per tenant-local day × full attribution — survey, touchpoint,
stage, journey, segment, staff member (0 for none) and channel, as ResponseCell — for any combination of filters.

A day is recomputed whole (its comments are few): its rows of all four tables deleted and written again in one
pass, under the tenant's lock of that day, inside the transaction that changed the themes
(`response_themes_changed`), so the statistics are right exactly when the change commits. A bot response or an
empty comment is never counted; a theme a person took off (`present=False`) is not on the comment. Responses are
read in id order, so a day's floating-point sentiment sums come out the same on every recomputation (a rebuild
reproduces the stored rows exactly).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apps.metrics.models import COMMENT_STAT_FIELDS, CommentCell, CommentRollup, Dimension, ThemeCell, ThemeRollup
from apps.surveys.models import Response, ResponseTheme
from apps.tenancy.locks import tenant_locks
from apps.tenancy.models import Tenant

DAYS_PER_READ = 62
# (dimension, the response column holding its value); the tenant total is keyed "".
DIMENSION_COLUMNS = (
    (Dimension.SURVEY, "survey_id"), (Dimension.TOUCHPOINT, "touchpoint_id"), (Dimension.STAGE, "stage_id"),
    (Dimension.JOURNEY, "journey_id"), (Dimension.SEGMENT, "segment_id"), (Dimension.STAFF, "staff_id"),
    (Dimension.CHANNEL, "channel"),
)
COLUMNS = ("id", "local_day", "nps", "comment_sentiment", *(column for _, column in DIMENSION_COLUMNS))
# A cell's attribution (after its day), as ResponseCell stores it: the ids with 0 for none, then the channel.
CELL_COLUMNS = ("survey_id", "touchpoint_id", "stage_id", "journey_id", "segment_id", "staff_id", "channel")


def _keys(row: dict) -> list[tuple[str, str]]:
    keys = [(Dimension.TOTAL.value, "")]
    for dimension, column in DIMENSION_COLUMNS:
        value = row[column]
        keys.append((dimension.value, "" if value is None else str(value)))
    return keys


def _cell(row: dict) -> tuple:
    return (*(row[column] or 0 for column in CELL_COLUMNS[:-1]), row["channel"])


def _stats(stats: list) -> dict:
    return dict(zip(COMMENT_STAT_FIELDS, stats, strict=True))


def _add(stats: list, row: dict) -> None:
    stats[0] += 1
    nps = row["nps"]
    if nps is not None:
        stats[1] += 1
        stats[2] += nps >= 9
        stats[3] += nps <= 6
    sentiment = row["comment_sentiment"]
    if sentiment is not None:
        stats[4] += 1
        stats[5] += sentiment
        stats[6] += sentiment * sentiment


def _chunks(days: list, size: int) -> Iterable[list]:
    for start in range(0, len(days), size):
        yield days[start:start + size]


def theme_rollups_refresh(tenant: Tenant, days: Iterable) -> int:
    """Recompute the theme statistics of `days` for the active tenant (inside a transaction); rows written."""
    days = sorted(set(days))
    if not days:
        return 0
    tenant_locks([f"themes:{day}" for day in days])
    written = 0
    for chunk in _chunks(days, DAYS_PER_READ):
        rows = list(Response.objects.filter(local_day__in=chunk, is_bot=False).exclude(comment="").order_by("id").values(*COLUMNS))
        themes: dict[int, list[int]] = defaultdict(list)
        for response_id, theme_id in (ResponseTheme.objects.filter(present=True, response__local_day__in=chunk, response__is_bot=False)
                                      .exclude(response__comment="").values_list("response_id", "theme_id")):
            themes[response_id].append(theme_id)
        comments: dict[tuple, list] = defaultdict(lambda: [0] * 7)
        by_theme: dict[tuple, list] = defaultdict(lambda: [0] * 7)
        comment_cells: dict[tuple, list] = defaultdict(lambda: [0] * 7)
        theme_cells: dict[tuple, list] = defaultdict(lambda: [0] * 7)
        for row in rows:
            day, cell, theme_ids = row["local_day"], _cell(row), themes.get(row["id"], ())
            _add(comment_cells[(day, *cell)], row)
            for theme_id in theme_ids:
                _add(theme_cells[(theme_id, day, *cell)], row)
            for dimension, key in _keys(row):
                _add(comments[(dimension, key, day)], row)
                for theme_id in theme_ids:
                    _add(by_theme[(theme_id, dimension, key, day)], row)
        for model in (CommentRollup, ThemeRollup, CommentCell, ThemeCell):
            model.objects.filter(day__in=chunk).delete()
        CommentRollup.objects.bulk_create([CommentRollup(tenant=tenant, dimension=d, key=k, day=day, **_stats(stats))
                                           for (d, k, day), stats in comments.items()], batch_size=2000)
        ThemeRollup.objects.bulk_create([ThemeRollup(tenant=tenant, theme_id=t, dimension=d, key=k, day=day, **_stats(stats))
                                         for (t, d, k, day), stats in by_theme.items()], batch_size=2000)
        CommentCell.objects.bulk_create([CommentCell(tenant=tenant, day=day, **dict(zip(CELL_COLUMNS, cell, strict=True)), **_stats(stats))
                                         for (day, *cell), stats in comment_cells.items()], batch_size=2000)
        ThemeCell.objects.bulk_create([ThemeCell(tenant=tenant, theme_id=t, day=day, **dict(zip(CELL_COLUMNS, cell, strict=True)),
                                                 **_stats(stats))
                                       for (t, day, *cell), stats in theme_cells.items()], batch_size=2000)
        written += len(comments) + len(by_theme) + len(comment_cells) + len(theme_cells)
    return written


def theme_rollups_rebuild(tenant: Tenant) -> int:
    """Recompute every day that has a comment (and drop rows of days that no longer have one)."""
    days = set(Response.objects.exclude(comment="").values_list("local_day", flat=True).distinct())
    for model in (CommentRollup, CommentCell):  # a day's theme rows are written with its comment rows
        days |= set(model.objects.values_list("day", flat=True).distinct())
    return theme_rollups_refresh(tenant, days)
