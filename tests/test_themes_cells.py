"""Theme figures with any combination of attribution filters (METRICS.md "Comment themes", "Rollups"): the comment and
theme cells (per day × full attribution, as ResponseCell) give, for random combinations of two or three filters — a
"Not attributed" value (0) among them —, exactly what a count of the response and theme rows gives; a breakdown with
filters adds up; a rebuild reproduces the cells exactly; another workspace's rows are stored alongside and never
counted."""

from __future__ import annotations

import importlib
import math
import random
from collections import Counter, defaultdict
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dashboards.themes import themes_panel
from apps.metrics.models import COMMENT_STAT_FIELDS, CommentCell, ThemeCell
from apps.metrics.params import MetricFilters
from apps.metrics.themes import selectors
from apps.metrics.themes.rollups import theme_rollups_rebuild, theme_rollups_refresh
from apps.surveys.models import Response, ResponseTheme
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.conftest import make_api_key
from tests.metrics_world import add_random_responses, make_metric_world

API = "/api/v1/t/acme/metrics/themes/"
DIMENSIONS = ("survey", "touchpoint", "stage", "journey", "segment", "staff", "channel")
FIRST, LAST = date(2026, 3, 20), date(2026, 4, 12)  # add_random_responses' 20 days, with room at either end
COMMENTS = ("The invoice was wrong", "Quick and friendly", "Slow to call back", "Fine", "Great advice on the merger", "  ")


def _build(tenant, rng: random.Random, n: int = 220):
    """A metric world with comments (some empty or whitespace-only), sentiments (some missing) and three themes, each on
    a random share of the comments; some themes taken off by a person (`present=False`), some on bot answers."""
    w = make_metric_world(tenant, rng)
    rows = add_random_responses(w, rng, n)
    with tenant_context(tenant):
        for r in rows:
            r.comment = "" if rng.random() < 0.15 else rng.choice(COMMENTS).strip()
            r.comment_sentiment = None if rng.random() < 0.2 else round(rng.uniform(-1, 1), 4)
        Response.objects.bulk_update(rows, ["comment", "comment_sentiment"])
        themes = [f.ThemeFactory(tenant=tenant) for _ in range(3)]
        links = [ResponseTheme(tenant=tenant, response=r, theme=t, source="rule", present=rng.random() > 0.15)
                 for r in rows if r.comment for t in themes if rng.random() < 0.4]
        ResponseTheme.objects.bulk_create(links)
        # As the pipeline writes them: a day at a time, in no particular order.
        days = sorted({r.local_day for r in rows})
        rng.shuffle(days)
        for day in days:
            theme_rollups_refresh(tenant, [day])
    return w, themes


@pytest.fixture
def built(world):
    rng = random.Random(19)
    a, a_themes = _build(world.a, rng)
    b, _ = _build(world.b, rng)  # same days, same "none" attributions, its own themes: never in A's figures
    return a, a_themes, rng


def _value(response: Response, name: str):
    """The response's value of a dimension as a filter names it: the id (0 for none), or the channel code."""
    return response.channel if name == "channel" else getattr(response, f"{name}_id") or 0


def _add(stats: list, r: Response) -> None:
    for i, value in enumerate((1, r.nps is not None, r.nps is not None and r.nps >= 9, r.nps is not None and r.nps <= 6,
                               r.comment_sentiment is not None, r.comment_sentiment or 0.0, (r.comment_sentiment or 0.0) ** 2)):
        stats[i] += value


def _counted(tenant, conditions: dict, first: date, last: date) -> tuple[list[Response], list, dict[int, list]]:
    """(the comments, their statistics, {theme id: its comments' statistics}) counted row by row: counted responses of
    first..last with a non-empty comment and every given attribution, and the themes present on them."""
    with tenant_context(tenant):
        rows = [r for r in Response.objects.filter(is_bot=False, local_day__range=(first, last)).exclude(comment="")
                if all(_value(r, name) == value for name, value in conditions.items())]
        links = defaultdict(list)
        for response_id, theme_id in ResponseTheme.objects.filter(present=True).values_list("response_id", "theme_id"):
            links[response_id].append(theme_id)
    total, themes = [0] * 7, defaultdict(lambda: [0] * 7)
    for r in rows:
        _add(total, r)
        for theme_id in links[r.pk]:
            _add(themes[theme_id], r)
    return rows, total, dict(themes)


def _assert_stats(stats: selectors.Stats, want: list) -> None:
    got = [getattr(stats, name) for name in COMMENT_STAT_FIELDS]
    assert got[:5] == want[:5]
    assert math.isclose(got[5], want[5], abs_tol=1e-9)
    assert math.isclose(got[6], want[6], abs_tol=1e-9)


def _combinations(tenant, rng: random.Random, count: int) -> list[dict]:
    """`count` random combinations of 2–3 filters, each taken from a real comment (so most select some): the first
    with a "Not attributed" value (0), the last with a value no comment has together with the others."""
    with tenant_context(tenant):
        commented = list(Response.objects.filter(is_bot=False).exclude(comment=""))
    unattributed = next(r for r in commented if r.touchpoint_id is None)
    combos = [{"touchpoint": 0, "channel": unattributed.channel, "survey": unattributed.survey_id}]
    while len(combos) < count - 1:
        r = rng.choice(commented)
        combos.append({name: _value(r, name) for name in rng.sample(DIMENSIONS, rng.choice((2, 3)))})
    combos.append({"segment": 0, "staff": 0, "channel": "embed"})  # no response comes from an embed
    assert any(0 in c.values() for c in combos[1:-1]), "the random combinations hold a 'none' value too"
    return combos


def test_theme_figures_with_two_or_three_filters_equal_a_count_of_the_rows(world, built):
    a, themes, rng = built
    for conditions in _combinations(world.a, rng, 10):
        first = FIRST + timedelta(days=rng.randint(0, 8))
        filters = MetricFilters(first=first, last=first + timedelta(days=rng.randint(5, 15)), **conditions)
        rows, total, by_theme = _counted(world.a, conditions, filters.first, filters.last)
        with tenant_context(world.a):
            stored_total, stored_themes = selectors.period_stats(filters, filters.first, filters.last)
            report = selectors.themes_report(filters, world.a)
        _assert_stats(stored_total, total)
        assert set(stored_themes) <= {t.pk for t in themes}, conditions
        for theme in themes:
            _assert_stats(stored_themes.get(theme.pk, selectors.Stats()), by_theme.get(theme.pk, [0] * 7))
        assert report["comments"]["comments"] == len(rows), conditions
        assert report["comments"]["nps"]["n"] == total[1]
        for row in report["themes"]:
            want = by_theme.get(row["pk"], [0] * 7)
            assert (row["share"]["comments"], row["share"]["of"]) == (want[0], total[0]), conditions
            assert (row["nps_impact"]["n_with"], row["nps_impact"]["n_without"]) == (want[1], total[1] - want[1])
            assert row["sentiment"]["n"] == want[4]
        previous = _counted(world.a, conditions, filters.previous_first, filters.previous_last)[1]
        assert {r["previous_share"]["of"] for r in report["themes"]} == {previous[0]}


def test_the_none_filter_selects_the_comments_without_that_attribution(world, built):
    a, themes, rng = built
    alone = MetricFilters(first=FIRST, last=LAST, touchpoint=0)  # one filter: the touchpoint rollup's "" key
    combined = MetricFilters(first=FIRST, last=LAST, touchpoint=0, staff=0)  # two: the cells' 0
    with tenant_context(world.a):
        one = selectors.period_stats(alone, FIRST, LAST)[0]
        two = selectors.period_stats(combined, FIRST, LAST)[0]
    _assert_stats(one, _counted(world.a, {"touchpoint": 0}, FIRST, LAST)[1])
    _assert_stats(two, _counted(world.a, {"touchpoint": 0, "staff": 0}, FIRST, LAST)[1])
    assert 0 < two.comments < one.comments


def test_the_trend_with_filters_adds_up_to_the_count(world, built):
    a, themes, rng = built
    conditions = {"touchpoint": a.touchpoints[0].pk, "channel": "web", "staff": 0}
    rows, total, by_theme = _counted(world.a, conditions, FIRST, LAST)
    assert rows, "the combination selects some comments"
    with tenant_context(world.a):
        trend = selectors.themes_trend(MetricFilters(first=FIRST, last=LAST, **conditions), "week")
    assert sum(trend["comments"]) == total[0]
    for series, theme in ((s, next(t for t in themes if str(t.uuid) == s["id"])) for s in trend["series"]):
        assert sum(p["comments"] for p in series["points"]) == by_theme.get(theme.pk, [0])[0]


@pytest.mark.parametrize("by,conditions", [
    ("touchpoint", lambda w: {"segment": w.segments[0].pk}),  # one filter, another dimension: the cells
    ("stage", lambda w: {"channel": "email", "staff": 0}),
    ("staff", lambda w: {"survey": w.versions[0].survey_id, "touchpoint": 0}),
    ("touchpoint", lambda w: {"touchpoint": w.touchpoints[1].pk, "segment": 0}),  # `by`'s own dimension among the filters
    ("channel", lambda w: {"journey": w.stages[0].journey_id, "segment": w.segments[1].pk}),
])
def test_a_breakdown_with_filters_adds_up_to_the_count(world, built, by, conditions):
    a, themes, rng = built
    conditions = conditions(a)
    rows, total, by_theme = _counted(world.a, conditions, FIRST, LAST)
    with tenant_context(world.a):
        answer = selectors.themes_by(MetricFilters(first=FIRST, last=LAST, **conditions), by, world.a)
    groups = answer["groups"]
    assert sum(g["comments"] for g in groups) == total[0]
    per_value = Counter(_value(r, by) for r in rows)
    assert sorted(g["comments"] for g in groups) == sorted(per_value.values())
    unattributed = [g for g in groups if g["label"] == "Not attributed"]
    assert [g["comments"] for g in unattributed] == ([per_value[0]] if per_value.get(0) else [])
    for theme in themes:
        in_groups = [t for g in groups for t in g["themes"] if t["id"] == str(theme.uuid)]
        assert sum(t["share"]["comments"] for t in in_groups) == by_theme.get(theme.pk, [0])[0]
        assert sum(t["nps_impact"]["n_with"] for t in in_groups) == by_theme.get(theme.pk, [0, 0])[1]


def _cells(tenant) -> tuple[list[tuple], list[tuple]]:
    key = ("day", "survey_id", "touchpoint_id", "stage_id", "journey_id", "segment_id", "staff_id", "channel")
    with tenant_context(tenant):
        return (sorted(CommentCell.objects.values_list(*key, *COMMENT_STAT_FIELDS)),
                sorted(ThemeCell.objects.values_list("theme_id", *key, *COMMENT_STAT_FIELDS)))


def test_a_rebuild_reproduces_the_cells_exactly_and_touches_no_other_workspace(world, built):
    before_a, before_b = _cells(world.a), _cells(world.b)
    assert before_a[0]
    assert before_b[0]
    with tenant_context(world.a):
        theme_rollups_rebuild(world.a)  # every day again, in 62-day chunks
    assert _cells(world.a) == before_a
    with tenant_context(world.a):
        CommentCell.objects.all().delete()
        ThemeCell.objects.all().delete()
        theme_rollups_rebuild(world.a)  # from empty tables
    assert _cells(world.a) == before_a
    assert _cells(world.b) == before_b


def test_the_cells_equal_a_count_per_day_and_attribution(world, built):
    comment_cells, theme_cells = _cells(world.a)
    with tenant_context(world.a):
        rows = list(Response.objects.filter(is_bot=False).exclude(comment=""))
        links = defaultdict(list)
        for response_id, theme_id in ResponseTheme.objects.filter(present=True).values_list("response_id", "theme_id"):
            links[response_id].append(theme_id)
    want_comments, want_themes = defaultdict(lambda: [0] * 7), defaultdict(lambda: [0] * 7)
    for r in rows:
        key = (r.local_day, *(_value(r, name) for name in DIMENSIONS))
        _add(want_comments[key], r)
        for theme_id in links[r.pk]:
            _add(want_themes[(theme_id, *key)], r)
    for stored, want in ((comment_cells, want_comments), (theme_cells, want_themes)):
        assert {row[:-7] for row in stored} == set(want)
        for row in stored:
            expected = want[row[:-7]]
            assert list(row[-7:-2]) == expected[:5], row
            assert math.isclose(row[-2], expected[5], abs_tol=1e-9)
            assert math.isclose(row[-1], expected[6], abs_tol=1e-9)


def test_the_migration_fills_the_cells_as_the_refresh_writes_them(world, built):
    """0008's backfill (SQL over the response and theme rows) gives the refresh's cells, tenant by tenant."""
    before = {tenant.pk: _cells(tenant) for tenant in (world.a, world.b)}
    for tenant in (world.a, world.b):
        with tenant_context(tenant):
            CommentCell.objects.all().delete()
            ThemeCell.objects.all().delete()
    migration = importlib.import_module("apps.metrics.migrations.0008_theme_cells")
    migration.backfill(django_apps, SimpleNamespace(connection=connection))
    for tenant in (world.a, world.b):
        for stored, want in zip(_cells(tenant), before[tenant.pk], strict=True):
            assert [row[:-2] for row in stored] == [row[:-2] for row in want]
            for got, expected in zip(stored, want, strict=True):
                assert math.isclose(got[-2], expected[-2], abs_tol=1e-9)
                assert math.isclose(got[-1], expected[-1], abs_tol=1e-9)


def test_filtered_reads_cost_what_unfiltered_ones_do(world, built):
    a, themes, rng = built
    plain = MetricFilters(first=FIRST, last=LAST)
    filtered = MetricFilters(first=FIRST, last=LAST, touchpoint=a.touchpoints[0].pk, segment=0, channel="web")
    counts = {}
    for name, filters in (("plain", plain), ("filtered", filtered)):
        with tenant_context(world.a), CaptureQueriesContext(connection) as queries:
            selectors.themes_report(filters, world.a)
            selectors.themes_trend(filters, "month")
            selectors.themes_by(filters, "channel", world.a)  # (no label query, whatever the groups)
        counts[name] = len(queries.captured_queries)
    assert counts["filtered"] == counts["plain"]


def test_the_api_and_the_dashboard_panel_answer_with_two_filters(world, built, api_client):
    a, themes, rng = built
    touchpoint, segment = a.touchpoints[0], a.segments[0]
    conditions = {"touchpoint": touchpoint.pk, "segment": segment.pk}
    rows, total, by_theme = _counted(world.a, conditions, FIRST, LAST)
    assert rows, "the combination selects some comments"
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    query = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "touchpoint": str(touchpoint.uuid), "segment": str(segment.uuid)}
    body = api_client.get(API, query).json()
    assert body["comments"]["comments"] == total[0]
    assert {t["id"]: t["share"]["comments"] for t in body["themes"]} == {str(t.uuid): by_theme.get(t.pk, [0])[0] for t in themes}
    breakdown = api_client.get(f"{API}breakdown/", {**query, "by": "channel"}).json()
    assert sum(g["comments"] for g in breakdown["groups"]) == total[0]
    other = f.TouchpointFactory(tenant=world.b)  # another workspace's id is not one of this workspace's
    assert api_client.get(API, {**query, "touchpoint": str(other.uuid)}).json()["error"]["code"] == "unknown_touchpoint"
    with tenant_context(world.a):
        panel = themes_panel(world.a, MetricFilters(first=FIRST, last=LAST, **conditions))
    assert panel.note == ""
    assert panel.comments == total[0]
