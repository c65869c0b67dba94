"""The rollup engine (issue 6 items 1–3): stored rollups equal the response rows exactly, updates are
idempotent and concurrency-safe, reconciliation repairs and logs, the rebuild command shows progress."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.metrics import rollups, sources
from apps.metrics.buckets import Bucket
from apps.metrics.funnel.services import expected_funnel, funnel_rebuild, funnel_reconcile
from apps.metrics.models import (
    STAT_FIELDS,
    CommentCell,
    CommentRollup,
    FunnelRollup,
    MonthRollup,
    ResponseCell,
    ResponseRollup,
    RollupRun,
    TransitionRollup,
)
from apps.metrics.params import MetricFilters
from apps.metrics.themes.rollups import theme_rollups_rebuild
from apps.surveys.models import Invitation, Response
from apps.surveys.respond.services import response_submit
from apps.tenancy.context import tenant_context
from apps.tenancy.services import tenant_update
from tests.factories import (
    ClientFactory,
    InvitationFactory,
    JourneyFactory,
    QuestionFactory,
    ResponseFactory,
    StageFactory,
    SurveyFactory,
    SurveyVersionFactory,
)
from tests.metrics_world import add_random_responses, assert_exact, make_metric_world, python_buckets
from tests.threads import run_threads

pytestmark = pytest.mark.django_db


def stored_state(tenant) -> tuple:
    with tenant_context(tenant):
        return (sorted(ResponseCell.objects.values_list("day", "survey_id", "touchpoint_id", "stage_id", "journey_id", "segment_id",
                                                        "staff_id", "channel", *STAT_FIELDS)),
                sorted(ResponseRollup.objects.values_list("day", "dimension", "key", *STAT_FIELDS)),
                sorted(MonthRollup.objects.values_list("month", "dimension", "key", *STAT_FIELDS)),
                sorted(TransitionRollup.objects.values_list("day", "journey_id", "from_stage_id", "to_stage_id", "n", "abs_sum", "sq_sum")))




def test_rebuild_equals_the_response_rows_exactly_per_tenant(world):
    rng = random.Random(6)
    worlds = [make_metric_world(t, rng) for t in (world.a, world.b)]
    for w in worlds:
        add_random_responses(w, rng, 300)
    for w in worlds:
        rollups.rollups_rebuild(w.tenant)
    for w in worlds:
        assert_exact(w.tenant)
        with tenant_context(w.tenant):
            total = sum(r.responses for r in ResponseRollup.objects.filter(dimension="total"))
            assert total == Response.objects.filter(is_bot=False).count() > 200
            # Every dimension partitions the total ("not attributed" is its own value).
            for dimension in ("survey", "touchpoint", "stage", "journey", "segment", "staff", "channel"):
                assert sum(r.responses for r in ResponseRollup.objects.filter(dimension=dimension)) == total
            # No id of the other tenant's surveys in this tenant's cells.
            own = set(Response.objects.values_list("survey_id", flat=True))
            assert set(ResponseCell.objects.values_list("survey_id", flat=True)) <= own


def test_days_are_cut_in_the_tenants_time_zone(world):
    version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a))  # Europe/Brussels
    late = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # 00:30 on 2 June in Brussels
    with tenant_context(world.a):
        ResponseFactory(version=version, submitted_at=late, nps=10)
        rollups.rollups_refresh_days(world.a, [date(2026, 6, 2)])
        assert list(ResponseRollup.objects.filter(dimension="total").values_list("day", "nps_promoters")) == [(date(2026, 6, 2), 1)]


def test_a_refresh_twice_leaves_the_same_state_and_bots_never_count(world):
    rng = random.Random(1)
    w = make_metric_world(world.a, rng)
    add_random_responses(w, rng, 120, days=5)
    with tenant_context(world.a):
        days = set(Response.objects.values_list("local_day", flat=True))
    rollups.rollups_refresh_days(world.a, days)
    once = stored_state(world.a)
    rollups.rollups_refresh_days(world.a, days)
    rollups.rollups_refresh_days(world.a, days)
    assert stored_state(world.a) == once
    with tenant_context(world.a):
        bots = Response.objects.filter(is_bot=True).count()
        counted = Response.objects.filter(is_bot=False).count()
        assert bots
        assert sum(r.responses for r in ResponseRollup.objects.filter(dimension="total")) == counted


def test_a_submitted_response_updates_its_buckets_in_its_own_transaction(world, django_capture_on_commit_callbacks):
    version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a, kind="nps"))
    with tenant_context(world.a):
        QuestionFactory(version=version, key="nps", type="nps")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response, created = response_submit(tenant=world.a, version=version, answers={"nps": 3}, channel="web", language="en")
        assert created
        assert callbacks == []  # nothing left for a worker: no invitation, no rules, no webhooks
        row = ResponseRollup.objects.get(dimension="total", day=response.local_day)
        assert (row.nps_n, row.nps_detractors) == (1, 1)
        survey_row = ResponseRollup.objects.get(dimension="survey", key=str(version.survey_id))
        assert survey_row.nps_detractors == 1
    assert not ResponseRollup.all_tenants.filter(tenant=world.b).exists()


def test_enps_stays_out_of_customer_nps(world, django_capture_on_commit_callbacks):
    version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a, kind="enps"))
    with tenant_context(world.a):
        QuestionFactory(version=version, key="enps", type="nps")
        with django_capture_on_commit_callbacks(execute=True):
            response, _ = response_submit(tenant=world.a, version=version, answers={"enps": 9}, channel="web", language="en")
        assert (response.nps, response.enps) == (None, 9)
        row = ResponseRollup.objects.get(dimension="total")
        assert (row.nps_n, row.enps_n, row.enps_promoters) == (0, 1, 1)


def test_volatility_transitions_follow_each_clients_journey_in_time_order(world):
    journey = JourneyFactory(tenant=world.a)
    onboarding, support = StageFactory(journey=journey, order=1), StageFactory(journey=journey, order=2)
    version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a, kind="custom"))
    client = ClientFactory(tenant=world.a)
    t0 = datetime(2026, 5, 4, 9, tzinfo=UTC)
    with tenant_context(world.a):
        # NPS 9 (90) → CSAT 2 (25) → CES 7 (100): |Δ| = 65 then 75.
        ResponseFactory(version=version, client=client, stage=onboarding, journey=journey, submitted_at=t0, nps=9)
        ResponseFactory(version=version, client=client, stage=support, journey=journey, submitted_at=t0 + timedelta(days=1), nps=None, csat=2)
        ResponseFactory(version=version, client=client, stage=support, journey=journey, submitted_at=t0 + timedelta(days=2), nps=None, ces=7)
        # Another client's single response makes no transition; a response without a journey neither.
        ResponseFactory(version=version, client=ClientFactory(tenant=world.a), stage=onboarding, journey=journey, submitted_at=t0, nps=0)
        ResponseFactory(version=version, client=client, submitted_at=t0 + timedelta(hours=1), nps=0)
    rollups.rollups_rebuild(world.a)
    with tenant_context(world.a):
        rows = {(r.from_stage_id, r.to_stage_id): (r.n, r.abs_sum / 6) for r in TransitionRollup.objects.all()}
    assert rows == {(onboarding.pk, support.pk): (1, 65.0), (support.pk, support.pk): (1, 75.0)}
    # A late-arriving earlier answer re-dates the next transition's start: the task's affected days cover it.
    with tenant_context(world.a):
        early = ResponseFactory(version=version, client=client, stage=onboarding, journey=journey, submitted_at=t0 - timedelta(days=3), nps=5)
        days = rollups.response_affected_days(early)
    assert days == {early.local_day, date(2026, 5, 4)}
    rollups.rollups_refresh_days(world.a, days)
    assert_exact(world.a)


def test_reconciliation_repairs_and_logs_every_kind_of_difference(world):
    rng = random.Random(3)
    w = make_metric_world(world.a, rng)
    add_random_responses(w, rng, 150)
    rollups.rollups_rebuild(world.a)
    clean = rollups.rollups_reconcile(world.a)
    assert clean.rows_wrong == 0
    assert clean.days_repaired == []
    assert clean.rows_checked > 0
    with tenant_context(world.a):
        # A lost increment, a missing row, a stray row, and a response written behind the engine's back.
        row = ResponseRollup.objects.filter(dimension="total").order_by("day").first()
        ResponseRollup.objects.filter(pk=row.pk).update(nps_n=row.nps_n + 1)
        ResponseCell.objects.filter(pk=ResponseCell.objects.order_by("-day").first().pk).delete()
        ResponseRollup.objects.create(tenant=world.a, day=date(2026, 1, 1), dimension="total", key="", responses=5)
        add_random_responses(w, rng, 3, start=datetime(2026, 2, 10, tzinfo=UTC), days=1)
    run = rollups.rollups_reconcile(world.a)
    assert run.kind == RollupRun.Kind.RECONCILE
    assert run.finished_at
    assert run.rows_wrong >= 4
    assert "2026-01-01" in run.days_repaired
    assert row.day.isoformat() in run.days_repaired
    assert_exact(world.a)
    assert rollups.rollups_reconcile(world.a).rows_wrong == 0


def test_an_interrupted_reconciliation_continues_where_it_stopped(world):
    rng = random.Random(5)
    w = make_metric_world(world.a, rng)
    add_random_responses(w, rng, 40, start=datetime(2026, 1, 5, tzinfo=UTC), days=3)
    add_random_responses(w, rng, 40, start=datetime(2026, 3, 5, tzinfo=UTC), days=3)
    rollups.rollups_rebuild(world.a)
    with tenant_context(world.a):
        january, march = (ResponseRollup.objects.filter(dimension="total", day__month=m).order_by("day").first() for m in (1, 3))
    def corrupt(row):
        with tenant_context(world.a):
            ResponseRollup.objects.filter(pk=row.pk).update(responses=row.responses + 7)

    first = rollups.rollups_reconcile(world.a, max_months=1)  # a chunk: January only, then the task would queue the rest
    assert (first.finished_at, first.resume_after) == (None, date(2026, 1, 31))
    corrupt(january)  # behind the run: a resumed run does not go back to it
    corrupt(march)
    resumed = rollups.rollups_reconcile(world.a)
    assert resumed.pk == first.pk
    assert resumed.finished_at is not None
    assert resumed.days_repaired == [march.day.isoformat()]
    assert resumed.rows_checked > first.rows_checked
    fresh = rollups.rollups_reconcile(world.a)  # the next night: a new run over everything
    assert fresh.pk != first.pk
    assert fresh.days_repaired == [january.day.isoformat()]
    assert_exact(world.a)


def test_reconciliation_and_rebuild_never_cross_tenants(world):
    rng = random.Random(4)
    wa, wb = make_metric_world(world.a, rng), make_metric_world(world.b, rng)
    add_random_responses(wa, rng, 60)
    add_random_responses(wb, rng, 60)
    rollups.rollups_rebuild(world.a)
    before_b = stored_state(world.b)
    assert before_b == ([], [], [], [])
    rollups.rollups_reconcile(world.a)
    assert stored_state(world.b) == before_b
    rollups.rollups_rebuild(world.b)
    assert_exact(world.a)
    assert_exact(world.b)


def test_a_time_zone_change_re_dates_responses_and_rebuilds(world, django_capture_on_commit_callbacks):
    version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a))
    with tenant_context(world.a):
        ResponseFactory(version=version, submitted_at=datetime(2026, 6, 1, 22, 30, tzinfo=UTC),  # 2 June in Brussels
                        comment="Great advice", comment_sentiment=0.6)
    rollups.rollups_rebuild(world.a)
    with tenant_context(world.a):
        theme_rollups_rebuild(world.a)
        assert list(CommentRollup.objects.filter(dimension="total").values_list("day", flat=True)) == [date(2026, 6, 2)]
        assert list(CommentCell.objects.values_list("day", flat=True)) == [date(2026, 6, 2)]
    with tenant_context(world.a), django_capture_on_commit_callbacks(execute=True):
        tenant_update(tenant=world.a, acting_user=world.alice, data={"time_zone": "America/New_York"})
    with tenant_context(world.a):
        assert list(Response.objects.values_list("local_day", flat=True)) == [date(2026, 6, 1)]
        assert list(ResponseRollup.objects.filter(dimension="total").values_list("day", flat=True)) == [date(2026, 6, 1)]
        # The comment-theme statistics are re-dated with it, the cells (any combination of filters) too.
        assert list(CommentRollup.objects.filter(dimension="total").values_list("day", flat=True)) == [date(2026, 6, 1)]
        assert list(CommentCell.objects.values_list("day", flat=True)) == [date(2026, 6, 1)]


def test_the_funnel_counts_invitations_by_their_day(world):
    survey = SurveyFactory(tenant=world.a)
    with tenant_context(world.a):
        for status, opened, responded in [("sent", False, False), ("opened", True, False), ("responded", True, True),
                                          ("bounced", False, False), ("failed", False, False), ("queued", False, False),
                                          ("skipped", False, False)]:
            now = datetime.now(UTC)
            InvitationFactory(survey=survey, status=status, opened_at=now if opened else None, responded_at=now if responded else None)
    funnel_rebuild(world.a)
    with tenant_context(world.a):
        row = FunnelRollup.objects.get()
        assert (row.invited, row.pending, row.bounced, row.failed, row.opened, row.responded, row.skipped) == (6, 1, 1, 1, 2, 1, 1)
        Invitation.objects.filter(status="sent").update(status="bounced")
    assert funnel_reconcile(world.a) == 1
    with tenant_context(world.a):
        assert FunnelRollup.objects.get().bounced == 2
        day = FunnelRollup.objects.get().day
        assert [{k: v for k, v in r.items()} for r in expected_funnel(world.a, day, day)] == list(
            FunnelRollup.objects.values("tenant_id", "day", "survey_id", "channel", "invited", "pending", "bounced", "failed",
                                        "opened", "responded", "skipped"))


def test_the_rebuild_command_shows_progress_and_refuses_unknown_tenants(world):
    rng = random.Random(5)
    add_random_responses(make_metric_world(world.a, rng), rng, 40, days=70)
    out = StringIO()
    call_command("rebuild_rollups", "--tenant", "acme", stdout=out)
    text = out.getvalue()
    assert "acme" in text
    assert "3/3 months" in text
    assert "rollup rows" in text
    assert_exact(world.a)
    with pytest.raises(CommandError, match="nope"):
        call_command("rebuild_rollups", "--tenant", "nope", stdout=StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent transactions need Postgres")
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_day_never_lose_an_increment(world):
    """Writers add responses to one day while refreshers race on it; each writer then refreshes after
    its commit (as the on-commit task does). The final state equals the rows exactly."""
    rng = random.Random(7)
    w = make_metric_world(world.a, rng)
    start = datetime(2026, 6, 30, 22, tzinfo=UTC)  # 1 July, 00:00 in Brussels

    def writer(seed):
        local = random.Random(seed)
        for _ in range(8):
            created = add_random_responses(w, local, 3, start=start, days=1)
            rollups.rollups_refresh_days(world.a, {r.local_day for r in created})

    run_threads([(writer, (n,)) for n in range(4)], timeout=60)
    assert_exact(world.a)
    with tenant_context(world.a):
        assert ResponseRollup.objects.get(dimension="total", day=date(2026, 7, 1)).responses == Response.objects.filter(
            is_bot=False, local_day=date(2026, 7, 1)).count()


# --- a response adds itself in its own transaction (issue 18 item 2) ----------------------------------

def add_live(w, rng, n: int, **window) -> list[set]:
    """`n` random responses as the submit path writes them: each in its own transaction, adding itself to the
    stored rows; the days one reorders (not the last of its client's journey) refreshed after its commit, as the
    queued task does. Returns what each addition asked to refresh."""
    asked = []
    for _ in range(n):
        with tenant_context(w.tenant):
            (response,) = add_random_responses(w, rng, 1, **window)
            days = rollups.rollups_add_response(w.tenant, response)
        if days:
            rollups.rollups_refresh_days(w.tenant, days)
        asked.append(days)
    return asked


def test_responses_added_one_by_one_keep_every_row_exact(world):
    rng = random.Random(18)
    w = make_metric_world(world.a, rng)
    add_random_responses(w, rng, 200)
    rollups.rollups_rebuild(world.a)
    start = datetime(2026, 4, 15, tzinfo=UTC)  # after the history: live answers, each the last of its client's journey
    live = [days for n in range(60) for days in add_live(w, rng, 1, start=start + timedelta(days=n), days=1)]
    assert not any(live)
    assert_exact(world.a)
    # Late answers (inside the history) reorder their clients' journeys: those ask for a refresh instead.
    late = add_live(w, rng, 60)
    assert any(late)
    assert not all(late)
    assert_exact(world.a)
    with tenant_context(world.a):
        assert TransitionRollup.objects.filter(day__gte=start.date()).exists()
    before = stored_state(world.a)
    rollups.rollups_rebuild(world.a)
    assert stored_state(world.a) == before


def test_a_response_adds_a_bounded_number_of_statements_whatever_the_day_holds(world):
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(3)
    w = make_metric_world(world.a, rng)
    journey_stage = w.stages[0]
    day_start = datetime(2026, 5, 6, 8, tzinfo=UTC)

    def statements_of_one(minutes: int) -> list[str]:
        with tenant_context(world.a):
            response = ResponseFactory(version=w.versions[0], client=w.clients[0], stage=journey_stage, journey=journey_stage.journey,
                                       submitted_at=day_start + timedelta(minutes=minutes), nps=7, is_bot=False)
            with CaptureQueriesContext(connection) as captured:
                assert rollups.rollups_add_response(world.a, response) == set()
        return [q["sql"].split()[0].upper() for q in captured.captured_queries]

    statements_of_one(0)  # the lock rows exist from now on
    small = statements_of_one(1)
    add_random_responses(w, rng, 400, start=day_start, days=1)
    with tenant_context(world.a):  # the day full, every answer before the next live one
        Response.objects.filter(submitted_at__gt=day_start + timedelta(minutes=2)).update(
            submitted_at=day_start + timedelta(minutes=2), local_day=date(2026, 5, 6))
    rollups.rollups_rebuild(world.a)
    large = statements_of_one(3)
    assert small == large
    assert "DELETE" not in large
    assert len(large) <= (10 if connection.vendor == "postgresql" else 7)  # with the rollup version's write (readcache)
    assert_exact(world.a)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent transactions need Postgres")
@pytest.mark.django_db(transaction=True)
def test_responses_adding_themselves_while_refreshes_and_a_rebuild_race_stay_exact(world):
    rng = random.Random(11)
    w = make_metric_world(world.a, rng)
    start = datetime(2026, 6, 30, 22, tzinfo=UTC)  # 1 July in Brussels, two days
    add_random_responses(w, rng, 40, start=start, days=2)

    def writer(seed):
        add_live(w, random.Random(seed), 15, start=start, days=2)

    def refresher():
        for _ in range(6):
            rollups.rollups_refresh_days(world.a, {date(2026, 7, 1), date(2026, 7, 2)})

    def rebuilder():
        rollups.rollups_rebuild(world.a)

    run_threads([*((writer, (n,)) for n in range(4)), (refresher, ()), (rebuilder, ())])
    assert_exact(world.a)
    with tenant_context(world.a):
        assert Response.objects.count() == 40 + 4 * 15


@pytest.mark.parametrize(("first", "last", "head", "tail", "months"), [
    # Whole months only, a leap February included.
    (date(2024, 1, 1), date(2024, 3, 31), None, None, (date(2024, 1, 1), date(2024, 3, 1))),
    (date(2024, 2, 1), date(2024, 2, 29), None, None, (date(2024, 2, 1), date(2024, 2, 1))),
    # Days before and after whole months.
    (date(2026, 9, 8), date(2026, 12, 6), (date(2026, 9, 8), date(2026, 9, 30)), (date(2026, 12, 1), date(2026, 12, 6)),
     (date(2026, 10, 1), date(2026, 11, 1))),
    (date(2026, 1, 31), date(2026, 3, 1), (date(2026, 1, 31), date(2026, 1, 31)), (date(2026, 3, 1), date(2026, 3, 1)),
     (date(2026, 2, 1), date(2026, 2, 1))),
    # No whole month: all days.
    (date(2026, 1, 2), date(2026, 1, 31), (date(2026, 1, 2), date(2026, 1, 31)), None, None),
    (date(2026, 1, 20), date(2026, 2, 10), (date(2026, 1, 20), date(2026, 2, 10)), None, None),
    (date(2026, 5, 5), date(2026, 5, 5), (date(2026, 5, 5), date(2026, 5, 5)), None, None),
])
def test_a_period_is_read_as_its_whole_months_and_the_days_around_them(first, last, head, tail, months):
    parts = sources.month_parts(first, last)
    empty = [part for part in parts if part[0] > part[1]]
    assert [None if part in empty else part for part in parts] == [head, tail, months]
    covered = {d for low, high in parts[:2] for d in _days(low, high)}
    covered |= {d for m in _days(*parts[2]) if m.day == 1 for d in sources.month_days(m)}
    assert covered == set(_days(first, last))  # every day once, nothing outside
    assert sum(len(_days(low, high)) for low, high in parts[:2]) + sum(
        len(sources.month_days(m)) for m in _days(*parts[2]) if m.day == 1) == len(covered)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_period_totals_read_through_months_equal_the_rows_for_any_period(world):
    rng = random.Random(21)
    w = make_metric_world(world.a, rng)
    add_random_responses(w, rng, 400, start=datetime(2025, 11, 20, tzinfo=UTC), days=160)
    rollups.rollups_rebuild(world.a)
    expected = python_buckets(world.a)

    def want(first, last, dimension="total", key=""):
        return sum((b for (day, dim, k), b in expected.items() if dim == dimension and k == key and first <= day <= last), Bucket())

    survey = w.versions[0].survey_id
    periods = [(date(2025, 11, 20), date(2026, 4, 28)), (date(2025, 12, 1), date(2026, 2, 28)), (date(2026, 1, 15), date(2026, 2, 14)),
               (date(2026, 3, 9), date(2026, 3, 9))]
    periods += [(a, a + timedelta(days=rng.randrange(0, 120))) for a in (date(2025, 11, 10) + timedelta(days=rng.randrange(150)) for _ in range(8))]
    with tenant_context(world.a):
        for first, last in periods:
            f = MetricFilters(first=first, last=last)
            assert sources.sums(f, first, last) == want(first, last), (first, last)
            assert sources.sums(MetricFilters(first=first, last=last, survey=survey), first, last) == want(first, last, "survey", str(survey))
            split = first + (last - first) // 2
            assert sources.sums_split(f, first, last, split) == (want(first, split - timedelta(days=1)), want(split, last))
            by_touchpoint = {k: b for (day, dim, k), b in expected.items() if dim == "touchpoint" and first <= day <= last}
            grouped = sources.grouped_buckets(f, "touchpoint")
            assert set(grouped) == set(by_touchpoint)
            assert all(grouped[k] == want(first, last, "touchpoint", k) for k in grouped)
        assert MonthRollup.objects.filter(dimension="total").count() == 6  # Nov 2025 .. Apr 2026


def test_reconciliation_rewrites_a_month_row_that_no_longer_adds_up(world):
    rng = random.Random(8)
    w = make_metric_world(world.a, rng)
    add_random_responses(w, rng, 60, start=datetime(2026, 1, 5, tzinfo=UTC), days=50)
    rollups.rollups_rebuild(world.a)
    with tenant_context(world.a):
        february = MonthRollup.objects.get(dimension="total", month=date(2026, 2, 1))
        MonthRollup.objects.filter(pk=february.pk).update(responses=february.responses + 3)
        MonthRollup.objects.create(tenant=world.a, month=date(2025, 12, 1), dimension="total", key="", responses=2)
    run = rollups.rollups_reconcile(world.a)
    assert run.rows_wrong == 2
    assert run.days_repaired == []  # no day was wrong: the month rows were rewritten from theirs
    assert_exact(world.a)
    assert rollups.rollups_reconcile(world.a).rows_wrong == 0
