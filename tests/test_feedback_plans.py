"""Action plans (issue 8 item 5): the baseline is measured at creation and frozen; progress equals the
metrics API for the same filters and days; "reached" vs "reached with significance" on planted data;
closing at the due date is idempotent (met / missed); another tenant's case cannot be linked; roles;
another tenant's plan is a 404; the list reads every plan's progress in a fixed number of queries; the
API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.dates import local_today
from apps.feedback.models import ActionPlan, ActionPlanCase
from apps.feedback.plans.selectors import action_plan_list, action_plan_progress, baseline_measure, plan_scope
from apps.feedback.plans.services import (
    action_plan_cancel,
    action_plan_link_case,
    action_plan_unlink_case,
    action_plan_update,
    action_plans_close_due,
)
from apps.metrics.rollups import rollups_rebuild
from apps.tenancy.context import tenant_context
from tests.builders import action_plan_made, carol_member, plant_touchpoint_scores
from tests.factories import (
    ActionPlanFactory,
    CaseFactory,
    SegmentFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def today(world):
    return local_today(world.a.time_zone)


@pytest.fixture
def tp(world):
    with tenant_context(world.a):
        return TouchpointFactory(tenant=world.a, name="Help line")


# --- baseline -------------------------------------------------------------------------------------

def test_it_measures_the_baseline_at_creation_and_never_changes_it(world, tp, today):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=10), csat=[5] * 10 + [2] * 10)  # 50 %
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=200), csat=[5] * 30)  # outside the 90 days: not counted
    plan = action_plan_made(world, tp, today)
    assert (plan.baseline_value, plan.baseline_n) == (50.0, 20)
    assert plan.baseline_low < 50 < plan.baseline_high
    assert plan.baseline_bucket["csat_n"] == 20
    assert plan.baseline_bucket["csat_top2"] == 10
    assert (plan.baseline_first, plan.baseline_last) == (today - timedelta(days=90), today - timedelta(days=1))
    assert plan.starts_on == today
    assert plan.status == ActionPlan.Status.ACTIVE
    # More answers in the baseline window later: the stored baseline stays.
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=5), csat=[5] * 40)
    with tenant_context(world.a):
        plan = action_plan_update(tenant=world.a, acting_member=carol_member(world), plan=plan, title="Faster answers, v2", target_value=75)
        plan.refresh_from_db()
    assert (plan.baseline_value, plan.baseline_n, plan.baseline_bucket["csat_n"]) == (50.0, 20, 20)
    with tenant_context(world.a), pytest.raises(ValidationError):
        action_plan_update(tenant=world.a, acting_member=carol_member(world), plan=plan, baseline_value=10)


def test_it_refuses_a_target_at_or_below_the_baseline_and_writes_nothing(world, tp, today):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=3), csat=[5] * 8 + [1] * 2)  # 80 %
    for target in (80, 60):
        with pytest.raises(ValidationError) as exc:
            action_plan_made(world, tp, today, target_value=target)
        assert "target_value" in exc.value.message_dict
    with tenant_context(world.a):
        assert ActionPlan.objects.count() == 0


def test_it_accepts_any_target_without_a_baseline(world, tp, today):
    plan = action_plan_made(world, tp, today, target_value=5)
    assert plan.baseline_value is None
    assert plan.baseline_n == 0


def test_it_takes_a_chosen_baseline_window(world, tp, today):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=100), csat=[5, 5, 1, 1])
    plan = action_plan_made(world, tp, today, baseline_days=180)
    assert plan.baseline_n == 4
    assert plan.baseline_first == today - timedelta(days=180)


def test_it_refuses_bad_input_clearly(world, tp, today):
    for kwargs, field in [({"due_on": today}, "due_on"), ({"target_value": 130}, "target_value"),
                          ({"metric": "ces", "target_value": 9}, "target_value")]:
        with pytest.raises(ValidationError) as exc:
            action_plan_made(world, tp, today, **kwargs)
        assert field in exc.value.message_dict


# --- progress equals the metrics API ---------------------------------------------------------------

def test_its_progress_equals_the_metrics_api_for_the_same_filters(world, tp, today, client):
    start = today - timedelta(days=20)
    plant_touchpoint_scores(world.a, tp, start - timedelta(days=30), csat=[5] * 6 + [2] * 6, nps=[10] * 5 + [3] * 7, rebuild=False)
    plant_touchpoint_scores(world.a, tp, start + timedelta(days=2), csat=[5] * 14 + [1] * 4, nps=[9] * 10 + [5] * 8, rebuild=False)
    plant_touchpoint_scores(world.a, tp, start + timedelta(days=12), csat=[4] * 5 + [3] * 2, nps=[8, 9, 10, 2])
    plant_touchpoint_scores(world.a, None, start + timedelta(days=12), csat=[1] * 30)  # elsewhere: not in the plan's scope
    for metric, target in (("csat", 60), ("nps", 10)):
        plan = action_plan_made(world, tp, today, metric=metric, target_value=target, today=start)
        with tenant_context(world.a):
            progress = action_plan_progress(world.a, plan)
        client.force_login(world.alice)
        api = client.get(f"/api/v1/t/acme/metrics/summary/?from={start}&to={today}&touchpoint={tp.uuid}").json()[metric]
        assert (progress.value, progress.low, progress.high, progress.n, progress.low_sample) == (
            api["value"], api["ci_low"], api["ci_high"], api["n"], api["low_sample"])
        base = client.get(f"/api/v1/t/acme/metrics/summary/?from={plan.baseline_first}&to={plan.baseline_last}&touchpoint={tp.uuid}").json()
        assert (plan.baseline_value, plan.baseline_low, plan.baseline_high, plan.baseline_n) == (
            base[metric]["value"], base[metric]["ci_low"], base[metric]["ci_high"], base[metric]["n"])
        # The weekly trend covers the plan's days and sums to the same n.
        assert sum(p[metric]["n"] for p in progress.trend) == progress.n
        assert progress.change["delta"] == pytest.approx(progress.value - plan.baseline_value, abs=0.11)


def test_a_two_filter_scope_reads_the_cells_and_equals_the_api(world, tp, today, client):
    with tenant_context(world.a):
        segment = SegmentFactory(tenant=world.a)
    start = today - timedelta(days=10)
    plant_touchpoint_scores(world.a, tp, start + timedelta(days=1), csat=[5] * 9 + [2] * 3, segment=segment, rebuild=False)
    plant_touchpoint_scores(world.a, tp, start + timedelta(days=2), csat=[1] * 9)
    plan = action_plan_made(world, tp, today, segment=segment, target_value=50, today=start)
    with tenant_context(world.a):
        progress = action_plan_progress(world.a, plan)
    client.force_login(world.alice)
    api = client.get(f"/api/v1/t/acme/metrics/summary/?from={start}&to={today}&touchpoint={tp.uuid}&segment={segment.uuid}").json()
    assert (progress.value, progress.n, progress.low, progress.high) == (api["csat"]["value"], 12, api["csat"]["ci_low"], api["csat"]["ci_high"])


# --- reached vs reached significantly ---------------------------------------------------------------

def test_it_tells_reached_with_significance_from_reached_and_not_reached(world, today):
    start = today - timedelta(days=30)
    with tenant_context(world.a):
        big, small = TouchpointFactory(tenant=world.a), TouchpointFactory(tenant=world.a)
    plant_touchpoint_scores(world.a, big, start + timedelta(days=3), csat=[5] * 160 + [1] * 40, rebuild=False)  # 80 %, n 200: CI ≈ 74–85
    plant_touchpoint_scores(world.a, small, start + timedelta(days=3), csat=[5] * 8 + [1] * 2)  # 80 %, n 10: CI ≈ 49–94
    cases = [(big, 60, True, True, "significant"), (small, 60, True, False, "not_significant"),
             (big, 90, False, False, "not_reached"), (big, 80, True, False, "not_significant")]
    for touchpoint, target, reached, significant, verdict in cases:
        plan = action_plan_made(world, touchpoint, today, target_value=target, today=start)
        with tenant_context(world.a):
            p = action_plan_progress(world.a, plan)
        assert p.value == 80.0
        assert (p.reached, p.reached_significantly, p.verdict) == (reached, significant, verdict), (target, p.low, p.high)
    # CES: higher is better too (7 = very easy).
    with tenant_context(world.a):
        easy = TouchpointFactory(tenant=world.a)
    plant_touchpoint_scores(world.a, easy, start + timedelta(days=4), ces=[6, 7] * 30)
    plan = action_plan_made(world, easy, today, metric="ces", target_value=5, today=start)
    with tenant_context(world.a):
        p = action_plan_progress(world.a, plan)
    assert p.reached_significantly
    assert p.low >= 5


def test_the_change_against_the_baseline_is_z_tested(world, tp, today):
    start = today - timedelta(days=30)
    plant_touchpoint_scores(world.a, tp, start - timedelta(days=20), csat=[5] * 40 + [1] * 60, rebuild=False)  # 40 %
    plant_touchpoint_scores(world.a, tp, start + timedelta(days=5), csat=[5] * 80 + [1] * 20)  # 80 %
    plan = action_plan_made(world, tp, today, target_value=70, today=start)
    with tenant_context(world.a):
        p = action_plan_progress(world.a, plan)
    assert p.change["delta"] == 40.0
    assert p.change["significant_change"] is True
    assert p.change["z"] > 1.96


# --- closing at the due date --------------------------------------------------------------------------

def test_closing_due_plans_freezes_them_met_or_missed_once(world, today):
    start = today - timedelta(days=40)
    with tenant_context(world.a):
        good, bad, later = (TouchpointFactory(tenant=world.a) for _ in range(3))
    plant_touchpoint_scores(world.a, good, start + timedelta(days=2), csat=[5] * 9 + [1])
    plant_touchpoint_scores(world.a, bad, start + timedelta(days=2), csat=[5] * 3 + [1] * 7, rebuild=False)
    plant_touchpoint_scores(world.a, good, today - timedelta(days=1), csat=[1] * 50)  # after the due date: not in the final value
    met = action_plan_made(world, good, today, target_value=85, today=start, due_on=today - timedelta(days=10))
    missed = action_plan_made(world, bad, today, target_value=50, today=start, due_on=today - timedelta(days=10))
    running = action_plan_made(world, later, today, target_value=50, today=start, due_on=today)  # due today: not yet closed
    with tenant_context(world.a):
        assert action_plans_close_due(tenant=world.a) == 2
        assert action_plans_close_due(tenant=world.a) == 0
        met.refresh_from_db(), missed.refresh_from_db(), running.refresh_from_db()
        closed_at = met.closed_at
        assert action_plans_close_due(tenant=world.a) == 0
        met.refresh_from_db()
        p = action_plan_progress(world.a, met)
    assert (met.status, met.final_value, met.final_n) == (ActionPlan.Status.MET, 90.0, 10)
    assert met.final_low < 90 < met.final_high
    assert met.closed_at == closed_at
    assert (missed.status, missed.final_value) == (ActionPlan.Status.MISSED, 30.0)
    assert running.status == ActionPlan.Status.ACTIVE
    assert p.frozen
    assert p.value == 90.0
    assert p.reached
    assert not p.reached_significantly
    with tenant_context(world.a), pytest.raises(ValidationError):
        action_plan_update(tenant=world.a, acting_member=carol_member(world), plan=met, title="Too late")


def test_a_plan_without_answers_is_missed_and_a_cancelled_one_is_not_closed(world, tp, today):
    start = today - timedelta(days=40)
    empty = action_plan_made(world, tp, today, target_value=50, today=start, due_on=today - timedelta(days=1))
    gone = action_plan_made(world, tp, today, target_value=50, today=start, due_on=today - timedelta(days=1))
    with tenant_context(world.a):
        action_plan_cancel(tenant=world.a, acting_member=carol_member(world), plan=gone)
        assert action_plans_close_due(tenant=world.a) == 1
        empty.refresh_from_db(), gone.refresh_from_db()
    assert (empty.status, empty.final_n, empty.final_value) == (ActionPlan.Status.MISSED, 0, None)
    assert gone.status == ActionPlan.Status.CANCELLED


def test_the_close_task_closes_every_tenants_due_plans(world, tp, today):
    from apps.feedback.tasks import action_plans_close_due_task, fan_out_close_due_plans

    action_plan_made(world, tp, today, target_value=50, today=today - timedelta(days=9), due_on=today - timedelta(days=1))
    assert action_plans_close_due_task(world.a.pk) == 1
    assert action_plans_close_due_task(world.a.pk) == 0
    assert fan_out_close_due_plans() == 3  # one task per active tenant (queued; eager in tests or not, it only queues)


def test_the_beat_entries_name_registered_tasks(settings):
    from cxm.celery import app

    app.loader.import_default_modules()
    for entry in ("close-due-action-plans", "notify-audits-ready"):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks, entry


def test_a_plan_past_its_due_date_keeps_its_title_editable_until_it_closes(world, tp, today):
    plan = action_plan_made(world, tp, today, target_value=50, today=today - timedelta(days=9), due_on=today - timedelta(days=1))
    with tenant_context(world.a):
        plan = action_plan_update(tenant=world.a, acting_member=carol_member(world), plan=plan, title="Renamed")
        assert plan.title == "Renamed"
        with pytest.raises(ValidationError):
            action_plan_update(tenant=world.a, acting_member=carol_member(world), plan=plan, due_on=today - timedelta(days=2))


# --- cases ---------------------------------------------------------------------------------------------

def test_it_links_cases_of_the_same_tenant_only(world, tp, today):
    plan = action_plan_made(world, tp, today, target_value=50)
    with tenant_context(world.a):
        case = CaseFactory(tenant=world.a)
    with tenant_context(world.b):
        foreign = CaseFactory(tenant=world.b)
    with tenant_context(world.a):
        assert action_plan_link_case(tenant=world.a, acting_member=carol_member(world), plan=plan, case=case) is True
        assert action_plan_link_case(tenant=world.a, acting_member=carol_member(world), plan=plan, case=case) is False
        with pytest.raises(ValidationError):
            action_plan_link_case(tenant=world.a, acting_member=carol_member(world), plan=plan, case=foreign)
        assert ActionPlanCase.objects.count() == 1
        assert action_plan_unlink_case(tenant=world.a, acting_member=carol_member(world), plan=plan, case=case) is True
        assert ActionPlanCase.objects.count() == 0


def test_the_page_refuses_another_tenants_case_and_writes_nothing(world, tp, today, client):
    plan = action_plan_made(world, tp, today, target_value=50)
    with tenant_context(world.b):
        foreign = CaseFactory(tenant=world.b)
    with tenant_context(world.a):
        mine = CaseFactory(tenant=world.a, title="Slow callback")
    client.force_login(world.carol)
    response = client.post(f"/t/acme/action-plans/{plan.uuid}/cases/link/", {"case": str(foreign.uuid)})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    with tenant_context(world.a):
        assert ActionPlanCase.objects.count() == 0
    response = client.post(f"/t/acme/action-plans/{plan.uuid}/cases/link/", {"case": str(mine.uuid)})
    assert response.status_code == 302
    page = client.get(f"/t/acme/action-plans/{plan.uuid}/")
    assert b"Slow callback" in page.content
    client.post(f"/t/acme/action-plans/{plan.uuid}/cases/unlink/", {"case": str(mine.uuid)})
    with tenant_context(world.a):
        assert ActionPlanCase.objects.count() == 0


# --- pages and roles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "carol", "bob", "victor"])
def test_everyone_reads_the_list_and_the_detail(who, world, tp, today, client):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=3), csat=[5] * 5 + [1] * 5)
    plan = action_plan_made(world, tp, today, target_value=70)
    client.force_login(getattr(world, who))
    listing = client.get("/t/acme/action-plans/")
    assert listing.status_code == 200
    assert plan.title.encode() in listing.content
    detail = client.get(f"/t/acme/action-plans/{plan.uuid}/")
    assert detail.status_code == 200
    assert b"No answers yet since the plan started" in detail.content
    assert (b"Cancel plan" in detail.content) == (who in ("alice", "carol"))


def test_it_answers_an_htmx_request_for_the_detail_with_the_whole_page(world, tp, today, client):
    """The detail shares the dashboards' renderer but has no `dashboard` partial (was a 500; issue 15's hostile world)."""
    plan = action_plan_made(world, tp, today, target_value=70)
    client.force_login(world.victor)
    response = client.get(f"/t/acme/action-plans/{plan.uuid}/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert plan.title.encode() in response.content


@pytest.mark.parametrize("who,allowed", [("alice", True), ("carol", True), ("bob", False), ("victor", False)])
def test_only_leads_and_admins_write(who, allowed, world, tp, today, client):
    plan = action_plan_made(world, tp, today, target_value=70)
    client.force_login(getattr(world, who))
    for method, url in [("get", "/t/acme/action-plans/new/"), ("get", f"/t/acme/action-plans/{plan.uuid}/edit/"),
                        ("post", f"/t/acme/action-plans/{plan.uuid}/cancel/")]:
        response = getattr(client, method)(url)
        assert (response.status_code != 403) == allowed, url


def test_the_create_page_previews_the_baseline_then_saves(world, tp, today, client):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=4), csat=[5] * 6 + [1] * 4)  # 60 %
    client.force_login(world.carol)
    data = {"title": "Help line", "metric": "csat", "touchpoint": str(tp.uuid), "baseline_days": "90", "target_value": "75",
            "due_on": str(today + timedelta(days=30)), "owner": str(carol_member(world).uuid)}
    preview = client.post("/t/acme/action-plans/new/", data | {"preview": "1"})
    assert preview.status_code == 200
    assert b"Baseline preview" in preview.content
    assert b"60.0" in preview.content
    with tenant_context(world.a):
        assert ActionPlan.objects.count() == 0
    low = client.post("/t/acme/action-plans/new/", data | {"target_value": "55"})
    assert low.status_code == 400
    assert b"must be above the baseline" in low.content
    saved = client.post("/t/acme/action-plans/new/", data)
    assert saved.status_code == 302
    with tenant_context(world.a):
        plan = ActionPlan.objects.select_related("owner__user", "created_by__user").get()
    assert (plan.baseline_value, plan.owner.user, plan.created_by.user) == (60.0, world.carol, world.carol)


def test_the_create_page_refuses_another_tenants_scope(world, today, client):
    with tenant_context(world.b):
        foreign = TouchpointFactory(tenant=world.b)
    client.force_login(world.carol)
    response = client.post("/t/acme/action-plans/new/", {"title": "x", "metric": "csat", "touchpoint": str(foreign.uuid),
                                                         "baseline_days": "90", "target_value": "75",
                                                         "due_on": str(today + timedelta(days=30))})
    assert response.status_code == 400
    with tenant_context(world.a):
        assert ActionPlan.objects.count() == 0


def test_another_tenants_plan_is_a_404(world, client):
    with tenant_context(world.b):
        foreign = ActionPlanFactory(tenant=world.b)
    client.force_login(world.alice)
    for url in (f"/t/acme/action-plans/{foreign.uuid}/", f"/t/acme/action-plans/{foreign.uuid}/edit/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/t/acme/action-plans/{foreign.uuid}/cancel/").status_code == 404


def test_the_detail_page_shows_the_verdict_the_chart_and_the_csv(world, tp, today, client):
    start = today - timedelta(days=21)
    plant_touchpoint_scores(world.a, tp, start - timedelta(days=5), csat=[5] * 5 + [1] * 5, rebuild=False)
    plant_touchpoint_scores(world.a, tp, start + timedelta(days=3), csat=[5] * 150 + [1] * 10)
    plan = action_plan_made(world, tp, today, target_value=70, today=start)
    client.force_login(world.victor)
    response = client.get(f"/t/acme/action-plans/{plan.uuid}/")
    body = response.content.decode()
    assert "Target reached with significance" in body
    assert 'data-chart="chart-plan-trend-data"' in body
    csv = client.get(f"/t/acme/action-plans/{plan.uuid}/?csv=plan-trend")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert "160" in csv.content.decode()


def test_the_list_reads_every_plans_progress_in_a_fixed_number_of_queries(world, today, client):
    client.force_login(world.alice)

    def add(n):
        with tenant_context(world.a):
            for i in range(n):
                tp = TouchpointFactory(tenant=world.a)
                segment = SegmentFactory(tenant=world.a)
                ActionPlanFactory(tenant=world.a, touchpoint=tp, metric=("nps", "csat", "ces")[i % 3], target_value=5,
                                  segment=segment if i % 2 else None, owner=carol_member(world))
            plant_touchpoint_scores(world.a, None, today - timedelta(days=1), csat=[5, 4])

    add(2)
    client.get("/t/acme/action-plans/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/t/acme/action-plans/").status_code == 200
    add(9)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/t/acme/action-plans/")
    assert response.content.count(b"data-plan=") == 11
    assert len(many.captured_queries) == len(few.captured_queries)
    with tenant_context(world.a), CaptureQueriesContext(connection) as direct:
        rows = action_plan_list(world.a)
    assert len(rows) == 11
    assert len(direct.captured_queries) <= 3


def test_the_batched_progress_equals_one_plan_at_a_time(world, today):
    start = today - timedelta(days=15)
    with tenant_context(world.a):
        tps = [TouchpointFactory(tenant=world.a) for _ in range(3)]
        segment = SegmentFactory(tenant=world.a)
    for i, touchpoint in enumerate(tps):
        plant_touchpoint_scores(world.a, touchpoint, start + timedelta(days=i + 1), csat=[5] * (5 + i) + [2] * 3, nps=[10] * (4 + i) + [1] * 4,
              ces=[6] * 5 + [2] * i, segment=segment if i else None, rebuild=False)
    rollups_rebuild(world.a)
    plans = [action_plan_made(world, touchpoint, today, metric=metric, target_value=6 if metric == "ces" else 50, today=start,
                    segment=segment if i == 2 else None)
             for i, (touchpoint, metric) in enumerate(zip(tps, ("csat", "nps", "ces"), strict=True))]
    with tenant_context(world.a):
        batched = {p.plan.pk: p for p in action_plan_list(world.a)}
        for plan in plans:
            single = action_plan_progress(world.a, plan, with_trend=False)
            assert (batched[plan.pk].value, batched[plan.pk].low, batched[plan.pk].high, batched[plan.pk].n, batched[plan.pk].change) == (
                single.value, single.low, single.high, single.n, single.change)
            assert single.n > 0


def test_the_baseline_helper_reads_the_scope(world, tp, today):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=2), nps=[10, 10, 0])
    with tenant_context(world.a):
        b = baseline_measure(world.a, metric="nps", scope=plan_scope(ActionPlan(touchpoint=tp)), first=today - timedelta(days=5),
                             last=today)
    assert (b.value, b.n, b.bucket["nps_promoters"]) == (33.3, 3, 2)


# --- API ------------------------------------------------------------------------------------------

API = "/api/v1/t/acme/action-plans/"


def test_the_api_creates_lists_reads_updates_and_links(world, tp, today, api_client):
    plant_touchpoint_scores(world.a, tp, today - timedelta(days=4), csat=[5] * 6 + [1] * 4)
    api_client.force_login(world.carol)
    body = {"title": "Help line", "metric": "csat", "touchpoint": str(tp.uuid), "target_value": 75,
            "due_on": str(today + timedelta(days=30))}
    created = api_client.post(API, body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["baseline"]["value"] == 60.0
    assert data["baseline"]["n"] == 10
    assert data["progress"]["verdict"] == "no_data"
    listed = api_client.get(API).json()
    assert [p["id"] for p in listed["results"]] == [data["id"]]
    patched = api_client.patch(f"{API}{data['id']}/", {"target_value": 80}, format="json")
    assert patched.status_code == 200
    assert patched.json()["target_value"] == 80
    refused = api_client.patch(f"{API}{data['id']}/", {"target_value": 50}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "validation_error"
    with tenant_context(world.a):
        case = CaseFactory(tenant=world.a)
    linked = api_client.post(f"{API}{data['id']}/cases/", {"case": str(case.uuid)}, format="json")
    assert linked.status_code == 200
    assert linked.json()["cases"] == [str(case.uuid)]
    low = api_client.post(API, body | {"target_value": 50}, format="json")
    assert low.status_code == 400
    assert "target_value" in low.json()["error"]["fields"]


def test_the_api_refuses_writes_from_readers(world, tp, today, api_client):
    api_client.force_login(world.bob)
    assert api_client.get(API).status_code == 200
    response = api_client.post(API, {"title": "x", "metric": "csat", "target_value": 75, "due_on": str(today + timedelta(days=3))},
                               format="json")
    assert response.status_code == 403

