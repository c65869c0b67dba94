"""The theme statistics (METRICS.md "Comment themes"): CommentRollup and ThemeRollup rows, per tenant-local
day × dimension value, recomputed from the response and theme rows of the days a change touched.

A day is recomputed whole (its comments are few): its rows deleted and written again, under the tenant's lock
of that day, inside the transaction that changed the themes (`response_themes_changed`), so the statistics
are right exactly when the change commits. A bot response or an empty comment is never counted; a theme a
person took off (`present=False`) is not on the comment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apps.metrics.models import COMMENT_STAT_FIELDS, CommentRollup, Dimension, ThemeRollup
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


def _keys(row: dict) -> list[tuple[str, str]]:
    keys = [(Dimension.TOTAL.value, "")]
    for dimension, column in DIMENSION_COLUMNS:
        value = row[column]
        keys.append((dimension.value, "" if value is None else str(value)))
    return keys


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
        rows = list(Response.objects.filter(local_day__in=chunk, is_bot=False).exclude(comment="").values(*COLUMNS))
        themes: dict[int, list[int]] = defaultdict(list)
        for response_id, theme_id in (ResponseTheme.objects.filter(present=True, response__local_day__in=chunk, response__is_bot=False)
                                      .exclude(response__comment="").values_list("response_id", "theme_id")):
            themes[response_id].append(theme_id)
        comments: dict[tuple, list] = defaultdict(lambda: [0] * 7)
        by_theme: dict[tuple, list] = defaultdict(lambda: [0] * 7)
        for row in rows:
            keys = _keys(row)
            for dimension, key in keys:
                _add(comments[(dimension, key, row["local_day"])], row)
                for theme_id in themes.get(row["id"], ()):
                    _add(by_theme[(theme_id, dimension, key, row["local_day"])], row)
        CommentRollup.objects.filter(day__in=chunk).delete()
        ThemeRollup.objects.filter(day__in=chunk).delete()
        CommentRollup.objects.bulk_create([
            CommentRollup(tenant=tenant, dimension=d, key=k, day=day, **dict(zip(COMMENT_STAT_FIELDS, stats, strict=True)))
            for (d, k, day), stats in comments.items()], batch_size=2000)
        ThemeRollup.objects.bulk_create([
            ThemeRollup(tenant=tenant, theme_id=t, dimension=d, key=k, day=day, **dict(zip(COMMENT_STAT_FIELDS, stats, strict=True)))
            for (t, d, k, day), stats in by_theme.items()], batch_size=2000)
        written += len(comments) + len(by_theme)
    return written


def theme_rollups_rebuild(tenant: Tenant) -> int:
    """Recompute every day that has a comment (and drop rows of days that no longer have one)."""
    days = set(Response.objects.exclude(comment="").values_list("local_day", flat=True).distinct())
    days |= set(CommentRollup.objects.values_list("day", flat=True).distinct())
    return theme_rollups_refresh(tenant, days)
