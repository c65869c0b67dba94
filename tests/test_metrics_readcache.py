"""Kept rollup reads (issue 18, P2; apps/metrics/readcache.py): a repeated read costs one version read, and no
write path — a response adding itself, a refresh, a rebuild, a reconciliation, a rolled-back transaction, another
connection's commit — ever leaves a kept answer that differs from the one computed afresh."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from apps.core.prepared import _prepare_sql
from apps.metrics import readcache, rollups
from apps.metrics.models import ResponseRollup
from apps.metrics.params import MetricFilters
from apps.metrics.scores.selectors import metrics_breakdown, metrics_summary, metrics_trend
from apps.surveys.models import Response
from apps.tenancy.context import tenant_context
from tests.metrics_world import add_random_responses, make_metric_world
from tests.threads import run_threads

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 1), date(2026, 4, 30)


def reads(tenant, **filters) -> tuple:
    """What a dashboard reads: the summary's numbers, a trend and a breakdown (through the kept answers)."""
    with tenant_context(tenant):
        f = MetricFilters(first=FIRST, last=LAST, **filters)
        summary = metrics_summary(tenant, f)
        return (summary.previous_responses, summary.metrics, metrics_trend(tenant, f, "week").points,
                metrics_breakdown(tenant, f, "touchpoint").rows)


def fresh(tenant, **filters) -> tuple:
    with override_settings(METRICS_READ_CACHE_ENTRIES=0):
        return reads(tenant, **filters)


def responses(tenant) -> int:
    return reads(tenant)[1]["responses"]


@pytest.fixture
def w(world):
    rng = random.Random(5)
    built = make_metric_world(world.a, rng)
    add_random_responses(built, rng, 150, start=START, days=60)
    rollups.rollups_rebuild(world.a)
    return built


def add_one(w, rng) -> None:
    """A response as the submit path writes it: in its own transaction, adding itself to the stored rows."""
    with tenant_context(w.tenant):
        (response,) = add_random_responses(w, rng, 1, start=datetime(2026, 4, 20, tzinfo=UTC), days=5)
        days = rollups.rollups_add_response(w.tenant, response)
    if days:
        rollups.rollups_refresh_days(w.tenant, days)


def test_a_repeated_read_is_one_version_read_and_the_same_numbers(w):
    first = reads(w.tenant)
    with CaptureQueriesContext(connection) as captured:
        again = reads(w.tenant)
    assert again == first == fresh(w.tenant)
    rollup_reads = [q["sql"] for q in captured.captured_queries if "metrics_" in q["sql"] or q["sql"].startswith("EXECUTE")]
    version_read = _prepare_sql(readcache._READ)[0] if connection.vendor == "postgresql" else "metrics_rollupversion"
    assert len(rollup_reads) == 3  # the summary's, the trend's and the breakdown's version
    assert all(version_read in sql for sql in rollup_reads), rollup_reads
    # Each caller gets its own copy of a summary's blocks: changing one changes nothing kept.
    again[1]["nps"]["n"] = -1
    assert reads(w.tenant) == first
    # Off: every read computes.
    with override_settings(METRICS_READ_CACHE_ENTRIES=0), CaptureQueriesContext(connection) as uncached:
        assert reads(w.tenant) == first
    assert not any(version_read in q["sql"] for q in uncached.captured_queries)


def test_every_write_path_makes_the_next_read_fresh(w):
    rng = random.Random(8)
    survey = w.versions[0].survey_id
    before = reads(w.tenant), reads(w.tenant, survey=survey)

    add_one(w, rng)  # a response adding itself
    after_add = reads(w.tenant), reads(w.tenant, survey=survey)
    assert after_add == (fresh(w.tenant), fresh(w.tenant, survey=survey))
    assert after_add[0][1]["responses"] == before[0][1]["responses"] + 1

    with tenant_context(w.tenant):  # a refresh after the rows changed underneath
        changed = Response.objects.filter(local_day__range=(FIRST, LAST), nps__isnull=False).order_by("pk")[:10]
        days = {r.local_day for r in changed}
        Response.objects.filter(pk__in=[r.pk for r in changed]).update(nps=0)
    rollups.rollups_refresh_days(w.tenant, days)
    after_refresh = reads(w.tenant)
    assert after_refresh == fresh(w.tenant)
    assert after_refresh[1]["nps"] != after_add[0][1]["nps"]

    with tenant_context(w.tenant):  # a rebuild after rows went away
        gone = Response.objects.filter(local_day__range=(FIRST, LAST)).order_by("pk")[:7]
        Response.objects.filter(pk__in=[r.pk for r in gone]).delete()
    rollups.rollups_rebuild(w.tenant)
    after_rebuild = reads(w.tenant)
    assert after_rebuild == fresh(w.tenant)
    assert after_rebuild[1]["responses"] == after_refresh[1]["responses"] - 7

    with tenant_context(w.tenant):  # a reconciliation repairing a damaged day rollup
        row = ResponseRollup.objects.filter(dimension="total", day__range=(FIRST, LAST)).order_by("day").first()
        ResponseRollup.objects.filter(dimension="total", day=row.day).update(responses=row.responses + 50)
        month = rollups.month_start(row.day)
    rollups.rollups_refresh_days(w.tenant, [], months=[month])  # the month re-summed from the damaged day
    damaged = reads(w.tenant)
    assert damaged[1]["responses"] == after_rebuild[1]["responses"] + 50
    run = rollups.rollups_reconcile(w.tenant)
    assert run.rows_wrong
    assert reads(w.tenant) == fresh(w.tenant) == after_rebuild


def test_an_answer_read_inside_a_rolled_back_write_is_never_served(w):
    rng = random.Random(9)
    before = reads(w.tenant)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        add_one(w, rng)
        inside = reads(w.tenant)  # kept at the transaction's own version
        assert inside[1]["responses"] == before[1]["responses"] + 1
        raise Undo
    assert reads(w.tenant) == before == fresh(w.tenant)
    # Another response committed: a version of its own, never the undone one (a counter would hand out the same).
    add_one(w, random.Random(10))
    after = reads(w.tenant)
    assert after == fresh(w.tenant)
    assert after[1]["responses"] == before[1]["responses"] + 1
    assert after != inside


def test_tenants_never_share_kept_answers(world, w):
    rng = random.Random(6)
    other = make_metric_world(world.b, rng)
    add_random_responses(other, rng, 40, start=START, days=60)
    rollups.rollups_rebuild(world.b)
    a, b = reads(world.a), reads(world.b)
    counted = []
    for tenant in (world.a, world.b):
        with tenant_context(tenant):
            counted.append(Response.objects.filter(is_bot=False, local_day__range=(FIRST, LAST)).count())
    assert [a[1]["responses"], b[1]["responses"]] == counted
    assert a[1]["responses"] != b[1]["responses"]
    assert (reads(world.a), reads(world.b)) == (fresh(world.a), fresh(world.b)) == (a, b)


def test_the_kept_answers_are_bounded(w):
    with override_settings(METRICS_READ_CACHE_ENTRIES=3), tenant_context(w.tenant):
        for day in range(1, 10):
            metrics_summary(w.tenant, MetricFilters(first=date(2026, 3, day), last=LAST))
        assert len(readcache._entries) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections need Postgres")
@pytest.mark.django_db(transaction=True)
def test_a_write_committed_on_another_connection_is_seen_by_the_next_read(world):
    rng = random.Random(5)
    built = make_metric_world(world.a, rng)
    add_random_responses(built, rng, 30, start=START, days=60)
    rollups.rollups_rebuild(world.a)
    before = responses(world.a)
    run_threads([(add_one, (built, random.Random(n))) for n in range(3)])
    assert responses(world.a) == before + 3
    assert reads(world.a) == fresh(world.a)
