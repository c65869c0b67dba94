"""Churn and retention (apps.metrics.churn.retention) and churn risk (apps.metrics.churn.risk): METRICS.md
"Churn and retention" and "Churn risk", against answers computed by hand."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from apps.core.dates import day_start
from apps.metrics.churn import risk as churn_risk
from apps.metrics.churn.retention import churn_report, kaplan_meier, period_bounds
from apps.metrics.churn.risk import churn_risk_list, churn_risk_refresh, client_features, rule_score
from apps.metrics.models import ChurnModel, ClientHealth
from apps.metrics.tasks import fan_out_refresh_churn_risk, refresh_churn_risk
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    InteractionFactory,
    InvitationFactory,
    MembershipFactory,
    ResponseFactory,
    SegmentFactory,
    SurveyVersionFactory,
    TenantFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def client(tenant, active_from, churned_on=None, value=None, **extra):
    status = extra.pop("status", "churned" if churned_on else "active")
    return ClientFactory(tenant=tenant, active_from=D(active_from), churned_on=D(churned_on) if churned_on else None,
                         annual_value=Decimal(value) if value is not None else None, status=status, **extra)


@pytest.fixture
def book(world):
    """Hand-made clients of tenant A (and a few of B that must never show up in A's numbers)."""
    a = world.a
    c = {
        "c1": client(a, "2023-06-01", value=1000),
        "c2": client(a, "2023-06-01", "2024-02-10", value=3000),
        "c3": client(a, "2024-01-01", "2024-01-20"),  # new and lost within January
        "c4": client(a, "2023-12-31", "2024-03-01", value=2000),
        "c5": client(a, "2024-02-15"),
        "c7": client(a, "2023-01-01", "2024-01-01", value=500),  # churned on the first day of the range: lost in January
        "c8": client(a, "2023-01-01", "2023-12-31", value=700),  # gone before the range
    }
    client(a, "2023-01-01", status="prospect", value=9999)  # not a client yet: never counted
    for _ in range(5):
        client(world.b, "2023-01-01", "2024-01-15", value=100_000)
    return c


def report(world, **kwargs):
    kwargs.setdefault("first", D("2024-01-01"))
    kwargs.setdefault("last", D("2024-03-31"))
    kwargs.setdefault("today", D("2024-06-20"))
    with tenant_context(world.a):
        return churn_report(world.a, **kwargs)


# --- periods --------------------------------------------------------------------------------------

def test_it_cuts_calendar_periods_to_the_range():
    assert period_bounds(D("2024-01-15"), D("2024-03-10"), "month") == [
        (D("2024-01-15"), D("2024-02-01"), True), (D("2024-02-01"), D("2024-03-01"), False), (D("2024-03-01"), D("2024-03-11"), True)]
    assert period_bounds(D("2024-01-03"), D("2024-01-14"), "week") == [  # weeks start on Monday (Jan 1 and Jan 8)
        (D("2024-01-03"), D("2024-01-08"), True), (D("2024-01-08"), D("2024-01-15"), False)]
    assert period_bounds(D("2024-02-01"), D("2024-12-31"), "quarter")[0] == (D("2024-02-01"), D("2024-04-01"), True)
    with pytest.raises(ValueError):
        period_bounds(D("2024-01-01"), D("2024-01-31"), "fortnight")


def test_it_counts_churn_retention_and_revenue_churn_per_month(book, world):
    r = report(world)
    jan, feb, mar = r["periods"]
    # January: S = c1 c2 c4 c7; L = c7 (churned on Jan 1); N = c3; E = c1 c2 c4.
    assert (jan["at_start"], jan["lost"], jan["new"], jan["at_end"]) == (4, 1, 1, 3)
    assert jan["churn"] == {"value": 25.0, "k": 1, "n": 4, "ci_low": 4.6, "ci_high": 69.9}  # Wilson 1/4
    # Retention (E − N)/S = (3 − 1)/4: not 1 − churn, because c3 came and went within the month.
    assert jan["retention"]["value"] == 50.0
    assert jan["revenue_churn"] == {"value": 7.7, "lost_value": 500.0, "start_value": 6500.0, "clients_without_value": 0}
    # February: S = c1 c2 c4; L = c2; N = c5; E = c1 c4 (churns on Mar 1, so active all February) c5.
    assert (feb["at_start"], feb["lost"], feb["new"], feb["at_end"]) == (3, 1, 1, 3)
    assert (feb["churn"]["value"], feb["retention"]["value"], feb["revenue_churn"]["value"]) == (33.3, 66.7, 50.0)
    # March: S = c1 c4 c5 (c5 has no annual value); L = c4.
    assert (mar["at_start"], mar["lost"], mar["new"], mar["at_end"]) == (3, 1, 0, 2)
    assert mar["revenue_churn"] == {"value": 66.7, "lost_value": 2000.0, "start_value": 3000.0, "clients_without_value": 1}
    assert not any(p["partial"] for p in r["periods"])
    total = r["total"]
    assert (total["at_start"], total["lost"], total["new"], total["at_end"]) == (4, 3, 2, 2)
    assert (total["churn"]["value"], total["retention"]["value"], total["revenue_churn"]["value"]) == (75.0, 0.0, 84.6)


def test_it_builds_quarterly_cohorts_observed_by_today(book, world):
    (q1,) = report(world)["cohorts"]
    assert (q1["cohort"], q1["size"]) == ("2024-Q1", 2)  # c3 and c5
    after = {row["months"]: row for row in q1["active_after"]}
    # 3 months: c3 (gone on Jan 20) and c5 both reached their milestone by June 20; c5 is still active.
    assert (after[3]["k"], after[3]["n"], after[3]["value"]) == (1, 2, 50.0)
    assert after[6]["n"] == 0
    assert after[6]["value"] is None  # nobody has been a client for 6 months yet


def test_it_draws_the_kaplan_meier_tenure_curve(book, world):
    tenure = report(world)["tenure"]
    # Durations (days) to June 20 2024: c3 19 churn, c4 61 churn, c5 126 censored, c2 254 churn, c8 364 churn,
    # c7 365 churn, c1 385 censored. S = 6/7, 5/7, 15/28, 10/28, 5/28 at 19, 61, 254, 364, 365.
    assert (tenure["n"], tenure["events"]) == (7, 5)
    curve = tenure["curve"]
    assert [(p["days"], p["at_risk"], p["survival"]) for p in curve] == [
        (0, 7, 100.0), (19, 7, 85.7), (61, 6, 71.4), (254, 4, 53.6), (364, 3, 35.7), (365, 2, 17.9)]
    # Greenwood with the log(−log) transform at day 19: Σ = 1/(7·6); S^exp(±1.96·√Σ/|ln S|) = [33.4, 97.9].
    assert (curve[1]["ci_low"], curve[1]["ci_high"]) == (33.4, 97.9)
    assert tenure["median_days"] == 364


def test_kaplan_meier_matches_the_textbook_example():
    # Five subjects: events at 1, 3 (two), censored at 2 and 4.
    points = kaplan_meier([1, 2, 3, 3, 4], [True, False, True, True, False])
    assert [(p["days"], round(p["survival"], 4)) for p in points] == [(0, 1.0), (1, 0.8), (3, 0.2667)]
    for p in points:
        assert p["ci_low"] <= p["survival"] <= p["ci_high"]


def test_it_filters_by_segment(world):
    with tenant_context(world.a):
        enterprise = SegmentFactory(tenant=world.a, name="Enterprise")
    client(world.a, "2023-01-01", "2024-01-10", segment=enterprise)
    client(world.a, "2023-01-01", segment=enterprise)
    client(world.a, "2023-01-01")
    client(world.a, "2023-01-01", "2024-01-10")
    r = report(world, interval="year", segment_id=enterprise.pk)
    assert (r["total"]["at_start"], r["total"]["lost"]) == (2, 1)


def test_it_never_counts_another_tenants_clients(book, world):
    r = report(world)
    assert r["total"]["at_start"] == 4
    assert r["total"]["revenue_churn"]["start_value"] == 6500.0
    with tenant_context(world.b):
        b = churn_report(world.b, first=D("2024-01-01"), last=D("2024-03-31"), today=D("2024-06-20"))
    assert (b["total"]["at_start"], b["total"]["lost"], b["total"]["revenue_churn"]["start_value"]) == (5, 5, 500_000.0)
    with tenant_context(world.c):  # no clients at all: zeros and Nones, no error
        c = churn_report(world.c, first=D("2024-01-01"), last=D("2024-03-31"), interval="week", today=D("2024-06-20"))
    assert c["total"]["at_start"] == 0
    assert c["total"]["churn"]["value"] is None
    assert c["tenure"]["median_days"] is None
    assert len(c["periods"]) == 13
    assert c["cohorts"][0]["size"] == 0
    with tenant_context(world.a), pytest.raises(ValueError):
        churn_report(world.b, first=D("2024-01-01"), last=D("2024-03-31"))


# --- churn risk: rules ----------------------------------------------------------------------------

TODAY = D("2025-03-01")


def at(tenant, day: date, hour: int = 12) -> datetime:
    return day_start(tenant.time_zone, day) + timedelta(hours=hour)


@pytest.fixture
def survey_version(world):
    return SurveyVersionFactory(survey__tenant=world.a)


def invitation(tenant, customer, created: date, answered: bool):
    inv = InvitationFactory(survey__tenant=tenant, contact__client=customer, status="responded" if answered else "sent",
                            responded_at=at(tenant, created + timedelta(days=2)) if answered else None)
    with tenant_context(tenant):
        type(inv).objects.filter(pk=inv.pk).update(created_at=at(tenant, created))
    return inv


def test_it_scores_by_the_documented_rules_below_30_churned_and_30_retained(world, survey_version):
    a = world.a
    staff = world.membership(world.bob, a)
    unhappy = client(a, "2024-01-01", name="Unhappy Ltd")
    ResponseFactory(version=survey_version, client=unhappy, nps=9, submitted_at=at(a, TODAY - timedelta(days=200)))
    ResponseFactory(version=survey_version, client=unhappy, nps=3, submitted_at=at(a, TODAY - timedelta(days=100)))
    ResponseFactory(version=survey_version, client=unhappy, nps=10, is_bot=True, submitted_at=at(a, TODAY - timedelta(days=5)))
    InteractionFactory(staff=staff, client=unhappy, occurred_at=at(a, TODAY - timedelta(days=94)))
    for days_ago, answered in [(150, True), (120, False), (60, False), (3, False)]:  # the last one is still in its grace week
        invitation(a, unhappy, TODAY - timedelta(days=days_ago), answered)

    happy = client(a, "2024-10-01", name="Happy plc")
    ResponseFactory(version=survey_version, client=happy, nps=10, submitted_at=at(a, TODAY - timedelta(days=10)))
    InteractionFactory(staff=staff, client=happy, occurred_at=at(a, TODAY - timedelta(days=2)), staff_sentiment=-1, follow_up=True,
                       follow_up_due=TODAY)
    client(a, "2023-01-01", "2025-01-01")  # churned: no row
    client(a, "2023-01-01", status="prospect")  # prospect: no row

    with tenant_context(a):
        facts = client_features(a, TODAY).loc[unhappy.pk]
        assert (facts["nps_latest"], facts["nps_trend"], facts["interaction_days"], facts["invited"], facts["unanswered"]) == (3, -6, 94, 3, 2)
        summary = churn_risk_refresh(a, today=TODAY)
        rows = {h.client_id: h for h in churn_risk_list(a)}
        model = ChurnModel.objects.get(is_current=True)

    assert summary["method"] == "rules"
    assert summary["scored"] == 2
    assert set(rows) == {unhappy.pk, happy.pk}
    top = rows[unhappy.pk]
    # 30 (detractor) + 16 (NPS fell 6 points, capped) + 10 (94 days without interaction) + 10 (2 of 3 unanswered) = 66.
    assert (top.score, top.band, top.method) == (66, "high", "rules")
    assert [r["text"] for r in top.reasons] == [
        "Last NPS answer was a detractor (3/10)", "NPS fell from 9 to 3/10 over the last 2 answers", "No interaction for 94 days"]
    assert [r["weight"] for r in top.reasons] == [30.0, 16.0, 10.0]
    # Happy: promoter, 1 of 1 recent interaction negative (20), 1 open follow-up (5), client for 151 days (5).
    low = rows[happy.pk]
    assert (low.score, low.band) == (30, "medium")
    assert [r["code"] for r in low.reasons] == ["negative_share", "open_follow_ups", "tenure"]
    assert low.reasons[0]["text"] == "1 of 1 interaction in the last 90 days negative"
    assert (model.method, model.auc, model.n_churned, model.n_retained) == ("rules", None, 1, 2)


def test_rule_score_reads_survey_silence_in_words():
    score, reasons = rule_score({"nps_latest": None, "survey_silence": 2 / 3, "invited": 3, "unanswered": 2, "tenure_days": 400,
                                 "days_since_interaction": 10, "days_since_response": 10})
    assert score == 20  # 10 (no NPS answer yet) + 10 (2 of 3 unanswered)
    assert [r["text"] for r in reasons] == ["No NPS answer yet", "2 of 3 survey invitations in the last 6 months unanswered"]


def test_a_refresh_twice_leaves_the_same_rows_and_drops_churned_clients(world, survey_version):
    a = world.a
    customers = [client(a, "2024-01-01") for _ in range(4)]
    for i, customer in enumerate(customers):
        ResponseFactory(version=survey_version, client=customer, nps=2 * i, submitted_at=at(a, TODAY - timedelta(days=20)))

    def snapshot():
        return sorted((h.pk, str(h.uuid), h.client_id, h.score, h.band, h.method, h.reasons, h.features)
                      for h in ClientHealth.objects.all())

    with tenant_context(a):
        churn_risk_refresh(a, today=TODAY)
        first = snapshot()
        churn_risk_refresh(a, today=TODAY)
        assert snapshot() == first
        assert len(first) == 4
        assert ChurnModel.objects.filter(is_current=True).count() == 1

        gone = customers[0]
        type(gone).objects.filter(pk=gone.pk).update(status="churned", churned_on=TODAY)
        assert gone.pk not in {h.client_id for h in churn_risk_list(a)}  # hidden at once
        summary = churn_risk_refresh(a, today=TODAY)
        assert summary["removed"] == 1
        assert {h.client_id for h in ClientHealth.objects.all()} == {c.pk for c in customers[1:]}


def test_the_risk_list_filters_and_stays_in_its_tenant(world, survey_version):
    a, b = world.a, world.b
    with tenant_context(a):
        segment = SegmentFactory(tenant=a)
    owner = world.membership(world.carol, a)
    mine = client(a, "2024-01-01", segment=segment, owner=owner)
    fine = client(a, "2024-01-01")
    ResponseFactory(version=survey_version, client=fine, nps=10, submitted_at=at(a, TODAY - timedelta(days=3)))
    InteractionFactory(staff=owner, client=fine, occurred_at=at(a, TODAY - timedelta(days=4)))
    ResponseFactory(version=survey_version, client=mine, nps=1, submitted_at=at(a, TODAY - timedelta(days=3)))
    client(b, "2024-01-01")
    with tenant_context(b):
        churn_risk_refresh(b, today=TODAY)
    with tenant_context(a):
        churn_risk_refresh(a, today=TODAY)
        assert churn_risk_list(a).count() == 2
        assert [h.client_id for h in churn_risk_list(a, segment_id=segment.pk)] == [mine.pk]
        assert [h.client_id for h in churn_risk_list(a, owner_id=owner.pk)] == [mine.pk]
        assert [h.client_id for h in churn_risk_list(a, band="low")] == [fine.pk]
        ordered = list(churn_risk_list(a))
        assert ordered[0].client_id == mine.pk
        assert ordered[0].score >= ordered[1].score
        with pytest.raises(ValueError):
            churn_risk_list(b)
    with tenant_context(b):
        assert churn_risk_list(b).count() == 1


# --- churn risk: the model on a planted signal ----------------------------------------------------

def planted_tenant(n_clients=200, seed=6):
    """Half the clients churned. Detractors churn more, and so do clients who leave invitations
    unanswered; everything else (interactions, tenure) is noise drawn alike for both."""
    from apps.surveys.models import Invitation, Response
    from apps.touchpoints.models import Interaction

    tenant = TenantFactory(slug="planted", time_zone="Europe/Brussels")
    staff = MembershipFactory(tenant=tenant, role=Role.STAFF)
    touchpoint = TouchpointFactory(tenant=tenant)
    version = SurveyVersionFactory(survey__tenant=tenant)
    rng = random.Random(seed)
    churned_ids = []
    responses, interactions, invitations = [], [], []
    with tenant_context(tenant):
        for i in range(n_clients):
            churned = i % 2 == 0
            churned_on = TODAY - timedelta(days=rng.randint(10, 330)) if churned else None
            as_of = churned_on - timedelta(days=churn_risk.HORIZON_DAYS) if churned else TODAY
            customer = client(tenant, (as_of - timedelta(days=rng.randint(200, 1500))).isoformat(),
                              churned_on.isoformat() if churned else None)
            if churned:
                churned_ids.append(customer.pk)
            detractor = rng.random() < (0.8 if churned else 0.15)
            score = rng.randint(0, 6) if detractor else rng.randint(7, 10)
            for k, days in enumerate(sorted(rng.sample(range(5, 300), 2), reverse=True)):
                submitted = at(tenant, as_of - timedelta(days=days))
                responses.append(Response(tenant=tenant, survey=version.survey, version=version, client=customer, channel="web",
                                          submitted_at=submitted, local_day=(as_of - timedelta(days=days)),
                                          nps=score if k == 1 else rng.randint(0, 10)))
            for _ in range(rng.randint(0, 4)):
                interactions.append(Interaction(tenant=tenant, client=customer, touchpoint=touchpoint, staff=staff, channel="phone",
                                                occurred_at=at(tenant, as_of - timedelta(days=rng.randint(1, 200))), summary="Call",
                                                outcome="resolved", staff_sentiment=rng.choice([-1, 0, 1])))
            silent = rng.random() < (0.7 if churned else 0.15)
            for j in range(2):
                created = at(tenant, as_of - timedelta(days=20 + 40 * j))
                invitations.append(Invitation(tenant=tenant, survey=version.survey, version=version, client=customer, email="x@example.com",
                                              dedupe_key=f"planted:{i}:{j}", send_after=created, status="sent" if silent else "responded",
                                              responded_at=None if silent else created + timedelta(days=1)))
        Response.objects.bulk_create(responses)
        Interaction.objects.bulk_create(interactions)
        made = Invitation.objects.bulk_create(invitations)
        for inv in made:  # created_at is auto_now_add: put it back where the story needs it
            Invitation.objects.filter(pk=inv.pk).update(created_at=inv.send_after)
    return tenant, churned_ids


def test_the_model_finds_a_planted_signal(db):
    tenant, _churned = planted_tenant()
    with tenant_context(tenant):
        summary = churn_risk_refresh(tenant, today=TODAY)
        model = ChurnModel.objects.get(is_current=True)
        rows = list(churn_risk_list(tenant))
    print(f"planted churn model: AUC {summary['auc']:.3f} on {summary['n_test']} held-out clients; coefficients {model.coefficients}")
    assert summary["method"] == "model"
    assert (summary["n_churned"], summary["n_retained"]) == (100, 100)
    assert summary["auc"] > 0.7
    assert model.auc == summary["auc"]
    assert model.n_test == 60
    assert model.coefficients["nps_detractor"] > 0
    assert model.coefficients["survey_silence"] > 0
    assert len(rows) == 100
    assert all(h.method == "model" for h in rows)
    riskiest = rows[:15]
    codes = [{r["code"] for r in h.reasons} for h in riskiest]
    assert sum("nps_category" in c or "survey_silence" in c for c in codes) >= 13
    detractors = [h for h in riskiest if h.features["nps_detractor"] == 1.0]
    assert detractors
    assert all(any(r["text"].startswith("Last NPS answer was a detractor") for r in h.reasons) for h in detractors)


def test_the_model_is_deterministic(db):
    tenant, _ = planted_tenant(n_clients=120, seed=7)
    with tenant_context(tenant):
        first = churn_risk_refresh(tenant, today=TODAY)
        scores = list(ClientHealth.objects.order_by("client_id").values_list("client_id", "score", "reasons"))
        second = churn_risk_refresh(tenant, today=TODAY)
        assert list(ClientHealth.objects.order_by("client_id").values_list("client_id", "score", "reasons")) == scores
    assert first["auc"] == second["auc"]


# --- tasks ----------------------------------------------------------------------------------------

def test_the_refresh_task_runs_for_a_tenant(world, survey_version):
    customer = client(world.a, "2024-01-01")
    ResponseFactory(version=survey_version, client=customer, nps=4)
    client(world.b, "2024-01-01")
    result = refresh_churn_risk(world.a.pk)
    assert result["scored"] == 1
    assert result["method"] == "rules"
    with tenant_context(world.a):
        assert ClientHealth.objects.get().client_id == customer.pk
    with tenant_context(world.b):
        assert not ClientHealth.objects.exists()
    assert fan_out_refresh_churn_risk() == 3  # eager in tests: every active tenant
    with tenant_context(world.b):
        assert ClientHealth.objects.count() == 1


def test_churn_rates_round_half_away_from_zero_like_every_other_number():
    """METRICS.md "Rounding": 11.25 → 11.3 (Python's round() would give 11.2, half to even)."""
    from apps.metrics.churn.retention import _rate

    assert round(11.25, 1) == 11.2, "the trap this guards against"
    rate = _rate(9, 80)  # 11.25 %
    assert rate["value"] == 11.3
    assert _rate(1, 8)["value"] == 12.5
    assert _rate(3, 8)["value"] == 37.5
    assert _rate(1, 40)["value"] == 2.5  # 2.5 exactly: one decimal kept
    assert _rate(1, 16)["value"] == 6.3  # 6.25 → 6.3
