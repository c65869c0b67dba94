"""The metrics API (issue 6): numbers equal the statistics of the response rows the factories made
(after the lead's rollup engine built its tables), on every filter path (one dimension → rollups, two
or more → cells), per period and per dimension; perception gap, volatility, funnel, churn and churn risk
from known rows; every bad parameter answers 400 with its code (and no input answers 500); another
tenant's ids are unknown and its rows never counted; viewers read, strangers do not; the query count
does not grow with rows; the selectors never read a response row."""

from __future__ import annotations

import random
import re
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.dates import local_today
from apps.metrics import stats
from apps.metrics.buckets import Bucket
from apps.metrics.churn import retention as churn_module
from apps.metrics.churn import selectors as churn_selectors
from apps.metrics.funnel import selectors as funnel_selectors
from apps.metrics.funnel.services import funnel_rebuild
from apps.metrics.models import ChurnModel, ClientHealth
from apps.metrics.params import MetricFilters
from apps.metrics.rollups import rollups_rebuild
from apps.metrics.scores import selectors
from apps.surveys.models import Invitation, Response
from apps.tenancy.context import tenant_context
from tests.factories import (
    ClientFactory,
    InvitationFactory,
    JourneyFactory,
    MembershipFactory,
    ResponseFactory,
    SegmentFactory,
    StageFactory,
    SurveyFactory,
    SurveyVersionFactory,
    TouchpointFactory,
)
from tests.metrics_world import add_random_responses, make_metric_world
from tests.shared_db import built_once, world_build

pytestmark = pytest.mark.postgres

BASE = "/api/v1/t/acme/metrics/"
ENDPOINTS = ("summary", "trend", "breakdown", "perception-gap", "volatility", "funnel", "churn", "churn-risk")
FIRST, LAST = date(2026, 3, 20), date(2026, 4, 8)  # the span of add_random_responses' default start (20 days)
RANGE = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
ATTRS = {"survey": "survey_id", "touchpoint": "touchpoint_id", "stage": "stage_id", "journey": "journey_id",
         "segment": "segment_id", "staff": "staff_id", "channel": "channel"}


# --- a world with rollups built, and an independent aggregation of its rows ------------------------

def _rows(tenant):
    with tenant_context(tenant):
        return list(Response.objects.filter(is_bot=False))


def _of(r) -> Bucket:
    return Bucket.of_response(nps=r.nps, csat=r.csat, ces=r.ces, smiley=r.smiley, enps=r.enps, predicted=r.predicted)


def py_bucket(rows, first: date, last: date, **filters) -> Bucket:
    """The merged bucket of the rows in first..last matching every filter (ids; None = not attributed)."""
    return Bucket.merge(_of(r) for r in rows if first <= r.local_day <= last
                        and all(getattr(r, ATTRS[name]) == value for name, value in filters.items()))


def min_n(tenant) -> dict:
    return {"min_n_nps": tenant.min_n_nps, "min_n_other": tenant.min_n_other}


def get(api_client, endpoint, query=None, user=None):
    if user is not None:
        api_client.force_login(user)
    return api_client.get(BASE + endpoint + "/", query or {})


def error_code(response):
    assert response.status_code == 400, (response.status_code, response.content[:500])
    return response.json()["error"]["code"]


def filter_value(w, name, rng=None):
    """One value of the filter `name` in world w: (query value, id)."""
    pick = (rng or random.Random(1)).choice
    objects = {"survey": [v.survey for v in w.versions], "touchpoint": w.touchpoints, "stage": w.stages,
               "journey": [w.stages[0].journey], "segment": w.segments, "staff": w.staff}
    if name == "channel":
        return "email", "email"
    obj = pick(objects[name])
    return str(obj.uuid), obj.pk


METRIC_KEYS = ("nps", "csat", "ces", "smiley", "enps", "perception_gap")


def assert_blocks(actual: dict, expected: dict):
    assert actual["responses"] == expected["responses"]
    for metric in METRIC_KEYS:  # a summary's blocks also carry previous and change
        assert {k: actual[metric][k] for k in expected[metric]} == expected[metric], metric


# --- numbers --------------------------------------------------------------------------------------

def test_the_default_range_is_the_last_90_days_and_the_previous_period_as_long(world, api_client):
    body = get(api_client, "summary", user=world.victor).json()
    today = local_today(world.a.time_zone)
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - timedelta(days=89)).isoformat()
    assert body["previous_to"] == (today - timedelta(days=90)).isoformat()
    assert body["previous_from"] == (today - timedelta(days=179)).isoformat()
    only_to = get(api_client, "summary", {"to": "2026-02-28"}).json()
    assert (only_to["from"], only_to["previous_from"], only_to["previous_to"]) == ("2025-12-01", "2025-09-02", "2025-11-30")


def _period_start(day: date, interval: str) -> date:
    return {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}[interval]


def _expected_labels(w, name):
    if name == "channel":
        return dict(Response.Channel.choices)
    objects = {"survey": [v.survey for v in w.versions], "touchpoint": w.touchpoints, "stage": w.stages,
               "journey": [w.stages[0].journey], "segment": w.segments, "staff": w.staff}[name]
    return {str(o.uuid): (o.user.full_name or o.user.email) if name == "staff" else o.name for o in objects}


def test_the_perception_gap_from_known_pairs(world, api_client):
    with tenant_context(world.a):
        version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a, kind="nps"))
        ann, ben = (MembershipFactory(tenant=world.a, user__full_name=n) for n in ("Ann Staff", "Ben Staff"))
        desk, phone = TouchpointFactory(tenant=world.a, name="Desk"), TouchpointFactory(tenant=world.a, name="Phone")
        at = datetime(2026, 4, 2, 10, tzinfo=UTC)
        # (staff, touchpoint, predicted, actual): gaps 4, 0, 4, −2.
        for staff, touchpoint, predicted, actual in [(ann, desk, 9, 5), (ann, desk, 8, 8), (ben, phone, 10, 6), (ben, None, 7, 9)]:
            ResponseFactory(version=version, staff=staff, touchpoint=touchpoint, nps=actual, predicted=predicted, submitted_at=at)
        ResponseFactory(version=version, staff=ann, nps=0, predicted=None, submitted_at=at)  # no prediction: not a pair
        ResponseFactory(version=version, staff=ann, nps=10, predicted=3, submitted_at=at, is_bot=True)  # bots never count
    rollups_rebuild(world.a)
    body = get(api_client, "perception-gap", {"from": "2026-04-01", "to": "2026-04-30"}, world.victor).json()
    overall = body["overall"]
    assert (overall["value"], overall["n"], overall["perceived_nps"], overall["actual_nps"]) == (1.5, 4, 50.0, -25.0)
    assert overall["low_sample"] is True
    assert overall["ci_low"] < 1.5 < overall["ci_high"]
    staff = {r["label"]: (r["value"], r["n"], r["key"]) for r in body["staff"]}
    assert staff == {"Ann Staff": (2.0, 2, str(ann.uuid)), "Ben Staff": (1.0, 2, str(ben.uuid))}
    touchpoints = {r["label"]: (r["value"], r["n"]) for r in body["touchpoints"]}
    assert touchpoints == {"Desk": (2.0, 2), "Phone": (4.0, 1), "Not attributed": (-2.0, 1)}
    assert [(r["label"], r["n"]) for r in body["stages"]] == [("Not attributed", 4)]
    only_ann = get(api_client, "perception-gap", {"from": "2026-04-01", "to": "2026-04-30", "staff": str(ann.uuid)}).json()
    assert (only_ann["overall"]["value"], only_ann["overall"]["n"]) == (2.0, 2)



def test_staff_read_only_their_own_perception_gap(world, api_client):
    bob, carol = world.membership(world.bob, world.a), world.membership(world.carol, world.a)
    with tenant_context(world.a):
        version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a, kind="nps"))
        at = datetime(2026, 4, 2, 10, tzinfo=UTC)
        for staff, predicted, actual in [(bob, 9, 5), (bob, 8, 8), (carol, 10, 0)]:
            ResponseFactory(version=version, staff=staff, nps=actual, predicted=predicted, submitted_at=at)
    rollups_rebuild(world.a)
    april = {"from": "2026-04-01", "to": "2026-04-30"}
    mine = get(api_client, "perception-gap", april, world.bob).json()
    assert (mine["overall"]["value"], mine["overall"]["n"]) == (2.0, 2)  # bob's pairs only, without asking
    assert [r["label"] for r in mine["staff"]] == ["Bob"]
    assert mine["filters"]["staff"] == str(bob.uuid)
    assert get(api_client, "perception-gap", {**april, "staff": str(bob.uuid)}).json()["overall"]["n"] == 2
    refused = get(api_client, "perception-gap", {**april, "staff": str(carol.uuid)})
    assert refused.status_code == 403
    everyone = get(api_client, "perception-gap", april, world.carol).json()  # a lead reads everyone
    assert everyone["overall"]["n"] == 3
    assert {r["label"] for r in everyone["staff"]} == {"Bob", "Carol"}


def test_staff_read_only_their_own_clients_churn_risk(world, api_client):
    bob, carol = world.membership(world.bob, world.a), world.membership(world.carol, world.a)
    with tenant_context(world.a):
        for name, owner in [("Bob's Co", bob), ("Carol's Co", carol), ("Nobody's Co", None)]:
            ClientHealth.objects.create(client=ClientFactory(tenant=world.a, name=name, owner=owner), score=50, band="medium",
                                        method="rules", reasons=[], features={}, computed_at=timezone.now())
    assert [r["client_name"] for r in get(api_client, "churn-risk", user=world.bob).json()["results"]] == ["Bob's Co"]
    assert get(api_client, "churn-risk", {"owner": str(carol.uuid)}).status_code == 403
    assert get(api_client, "churn-risk", user=world.victor).json()["count"] == 3  # a viewer reads every client

def test_volatility_from_known_rows_per_journey_and_transition(world, api_client):
    with tenant_context(world.a):
        journey = JourneyFactory(tenant=world.a, name="Onboarding journey")
        onboarding, support = StageFactory(journey=journey, order=1, name="Onboarding"), StageFactory(journey=journey, order=2, name="Support")
        version = SurveyVersionFactory(survey=SurveyFactory(tenant=world.a, kind="custom"))
        client = ClientFactory(tenant=world.a)
        t0 = datetime(2026, 5, 4, 9, tzinfo=UTC)
        # NPS 9 (90) → CSAT 2 (25) → CES 7 (100): |Δ| = 65 then 75.
        ResponseFactory(version=version, client=client, stage=onboarding, journey=journey, submitted_at=t0, nps=9)
        ResponseFactory(version=version, client=client, stage=support, journey=journey, submitted_at=t0 + timedelta(days=1), nps=None, csat=2)
        ResponseFactory(version=version, client=client, stage=support, journey=journey, submitted_at=t0 + timedelta(days=2), nps=None, ces=7)
    rollups_rebuild(world.a)
    query = {"from": "2026-05-01", "to": "2026-05-31"}
    body = get(api_client, "volatility", query, world.alice).json()
    assert (body["overall"]["value"], body["overall"]["n"]) == (70.0, 2)
    assert [(j["key"], j["label"], j["value"], j["n"]) for j in body["journeys"]] == [(str(journey.uuid), "Onboarding journey", 70.0, 2)]
    assert [(t["from_label"], t["to_label"], t["value"], t["n"], t["from_stage"]) for t in body["transitions"]] == [
        ("Onboarding", "Support", 65.0, 1, str(onboarding.uuid)), ("Support", "Support", 75.0, 1, str(support.uuid))]
    assert body["overall"]["ci_low"] <= 70.0 <= body["overall"]["ci_high"]
    into_onboarding_or_out = get(api_client, "volatility", {**query, "stage": str(onboarding.uuid)}).json()
    assert [(t["from_label"], t["to_label"]) for t in into_onboarding_or_out["transitions"]] == [("Onboarding", "Support")]
    assert get(api_client, "volatility", {**query, "journey": str(journey.uuid)}).json()["overall"]["n"] == 2
    assert get(api_client, "volatility", {"from": "2026-05-06", "to": "2026-05-31"}).json()["overall"]["n"] == 1  # by the later day
    assert error_code(get(api_client, "volatility", {**query, "survey": str(version.survey.uuid)})) == "unsupported_filter"


def test_the_funnel_from_known_invitations(world, api_client):
    S = Invitation.Status
    now = timezone.now()
    with tenant_context(world.a):
        survey = SurveyFactory(tenant=world.a, name="After support")
        other = SurveyFactory(tenant=world.a, name="Relationship")
        for status, opened, responded in [(S.SENT, False, False), (S.SENT, False, False), (S.OPENED, True, False),
                                          (S.RESPONDED, True, True), (S.BOUNCED, False, False), (S.SKIPPED, False, False),
                                          (S.QUEUED, False, False)]:
            InvitationFactory(survey=survey, status=status, opened_at=now if opened else None, responded_at=now if responded else None)
        InvitationFactory(survey=other, status=S.RESPONDED, opened_at=now, responded_at=now)
    funnel_rebuild(world.a)
    body = get(api_client, "funnel", user=world.alice).json()
    expected = stats.funnel_block(invited=6, pending=1, bounced=1, failed=0, opened=2, responded=1, skipped=1)
    rows = {r["label"]: r for r in body["surveys"]}
    assert {k: rows["After support"][k] for k in expected} == expected
    assert rows["After support"]["key"] == str(survey.uuid)
    assert rows["After support"]["delivered"] == 4
    assert rows["After support"]["response_rate"] == 25.0
    assert body["overall"] == stats.funnel_block(invited=7, pending=1, bounced=1, failed=0, opened=3, responded=2, skipped=1)
    assert [r["label"] for r in body["surveys"]] == ["After support", "Relationship"]
    only = get(api_client, "funnel", {"survey": str(other.uuid)}).json()
    assert only["overall"]["invited"] == 1
    assert [r["label"] for r in only["surveys"]] == ["Relationship"]
    assert error_code(get(api_client, "funnel", {"segment": str(uuid.uuid4())})) == "unsupported_filter"


def test_churn_is_the_churn_report_of_the_tenants_clients(world, api_client):
    with tenant_context(world.a):
        gold = SegmentFactory(tenant=world.a, name="Gold")
        for n in range(6):
            ClientFactory(tenant=world.a, segment=gold if n % 2 else None, active_from=date(2025, 1 + n, 1),
                          churned_on=date(2025, 9, 10 + n) if n < 3 else None, status="churned" if n < 3 else "active",
                          annual_value=1000 * (n + 1))
    with tenant_context(world.b):
        ClientFactory(tenant=world.b, active_from=date(2025, 1, 1), churned_on=date(2025, 9, 1), status="churned")
    query = {"from": "2025-07-01", "to": "2025-12-31", "interval": "quarter"}
    body = get(api_client, "churn", query, world.victor).json()
    with tenant_context(world.a):
        report = churn_module.churn_report(world.a, first=date(2025, 7, 1), last=date(2025, 12, 31), interval="quarter")
    assert body["periods"] == report["periods"]
    assert body["total"] == report["total"]
    assert body["cohorts"] == report["cohorts"]
    assert body["tenure"] == report["tenure"]
    assert body["total"]["at_start"] == 6
    assert body["total"]["lost"] == 3  # B's churned client is not here
    assert (body["from"], body["to"], body["interval"], body["segment"]) == ("2025-07-01", "2025-12-31", "quarter", None)
    gold_only = get(api_client, "churn", {**query, "segment": str(gold.uuid)}).json()
    assert gold_only["total"]["at_start"] == 3
    assert gold_only["segment"] == str(gold.uuid)
    assert get(api_client, "churn", {}).json()["interval"] == "month"


def test_churn_risk_lists_clients_riskiest_first_with_reasons_and_the_model(world, api_client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        gold = SegmentFactory(tenant=world.a)
        reasons = [{"code": "nps_detractor", "text": "Last NPS answer was a detractor (3)", "weight": 1.2}]
        for name, score, band, segment, owner in [("Low Co", 10, "low", None, None), ("High Co", 90, "high", gold, bob),
                                                  ("Mid Co", 50, "medium", gold, None)]:
            ClientHealth.objects.create(client=ClientFactory(tenant=world.a, name=name, segment=segment, owner=owner), score=score,
                                        band=band, method="model", reasons=reasons, features={}, computed_at=timezone.now())
        ChurnModel.objects.create(fitted_at=timezone.now(), method="model", n_churned=40, n_retained=60, auc=0.81, n_test=30)
    body = get(api_client, "churn-risk", user=world.victor).json()
    assert body["count"] == 3
    assert [r["client_name"] for r in body["results"]] == ["High Co", "Mid Co", "Low Co"]
    top = body["results"][0]
    assert top["score"] == 90
    assert top["band"] == "high"
    assert top["method"] == "model"
    assert top["reasons"] == reasons
    assert uuid.UUID(top["client"])
    assert body["model"]["method"] == "model"
    assert body["model"]["auc"] == 0.81
    assert body["model"]["n_test"] == 30
    assert [r["client_name"] for r in get(api_client, "churn-risk", {"segment": str(gold.uuid)}).json()["results"]] == ["High Co", "Mid Co"]
    assert [r["client_name"] for r in get(api_client, "churn-risk", {"owner": str(bob.uuid)}).json()["results"]] == ["High Co"]
    assert [r["client_name"] for r in get(api_client, "churn-risk", {"band": "low"}).json()["results"]] == ["Low Co"]
    page = get(api_client, "churn-risk", {"page_size": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    assert page["model"]


# --- bad parameters --------------------------------------------------------------------------------

BAD = [
    ("summary", {"from": "yesterday"}, "invalid_date"),
    ("summary", {"from": "2026-02-30"}, "invalid_date"),
    ("summary", {"to": "2026-1-5"}, "invalid_date"),
    ("summary", {"from": "0001-01-01"}, "invalid_date"),
    ("trend", {"to": "9999-12-31"}, "invalid_date"),
    ("summary", {"from": "2026-04-02", "to": "2026-04-01"}, "range_reversed"),
    ("breakdown", {"from": "2999-01-01", "by": "survey"}, "range_reversed"),
    ("summary", {"from": "2020-01-01", "to": "2025-01-01"}, "range_too_long"),
    ("churn", {"from": "2000-02-29", "to": "2010-01-01"}, "range_too_long"),
    ("breakdown", {"by": "planet"}, "unknown_dimension"),
    ("breakdown", {}, "unknown_dimension"),
    ("breakdown", {"by": "total"}, "unknown_dimension"),
    ("trend", {"interval": "fortnight"}, "invalid_interval"),
    ("trend", {"interval": "quarter"}, "invalid_interval"),
    ("churn", {"interval": "hour"}, "invalid_interval"),
    ("summary", {"channel": "pigeon"}, "invalid_channel"),
    ("funnel", {"channel": "EMAIL"}, "invalid_channel"),
    ("summary", {"survey": "not-a-uuid"}, "unknown_survey"),
    ("trend", {"staff": str(uuid.uuid4())}, "unknown_staff"),
    ("breakdown", {"by": "stage", "journey": "12"}, "unknown_journey"),
    ("perception-gap", {"touchpoint": str(uuid.uuid4())}, "unknown_touchpoint"),
    ("churn", {"segment": str(uuid.uuid4())}, "unknown_segment"),
    ("churn", {"survey": str(uuid.uuid4())}, "unsupported_filter"),
    ("churn-risk", {"owner": "x"}, "unknown_owner"),
    ("churn-risk", {"segment": str(uuid.uuid4())}, "unknown_segment"),
    ("churn-risk", {"band": "extreme"}, "invalid_band"),
]


@pytest.mark.parametrize("endpoint,query,code", BAD, ids=[f"{e}-{c}-{'&'.join(q)}" for e, q, c in BAD])
def test_every_bad_parameter_answers_400_with_its_code(endpoint, query, code, world, api_client):
    response = get(api_client, endpoint, query, world.alice)
    assert error_code(response) == code
    fields = response.json()["error"]["fields"]
    assert len(fields) == 1
    assert list(fields.values())[0][0]


def test_the_range_may_span_exactly_five_years(world, api_client):
    api_client.force_login(world.alice)
    assert get(api_client, "summary", {"from": "2020-01-01", "to": "2024-12-31"}).status_code == 200
    assert get(api_client, "summary", {"from": "2020-02-29", "to": "2025-02-28"}).status_code == 200
    assert error_code(get(api_client, "summary", {"from": "2020-02-29", "to": "2025-03-01"})) == "range_too_long"


def _b_objects(wb, world):
    return {"survey": wb.versions[0].survey, "touchpoint": wb.touchpoints[0], "stage": wb.stages[0], "journey": wb.stages[0].journey,
            "segment": wb.segments[0], "staff": world.membership(world.charlie, world.b)}


# --- never a 500 -----------------------------------------------------------------------------------

PARAMETER_NAMES = ["from", "to", "by", "interval", "survey", "touchpoint", "stage", "journey", "segment", "staff", "channel",
                   "owner", "band", "page", "page_size", "x"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "2026-04-01", "2026-13-01", "1900-01-01", "2999-12-31", "0000-00-00", "-1", "1e309", "NaN",
                     "00000000-0000-0000-0000-000000000000", "day", "week", "month", "quarter", "survey", "staff", "channel",
                     "email", "web", "high", "\x00", "%00", "' OR 1=1 --", "2026-04-01T00:00", "９９９９-０１-０１"]),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.uuids().map(str),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), query=st.dictionaries(st.sampled_from(PARAMETER_NAMES), VALUES, max_size=5))
def test_no_query_string_answers_500(endpoint, query, world, api_client):
    api_client.force_login(world.alice)
    response = api_client.get(BASE + endpoint + "/", query)
    assert response.status_code in (200, 400, 404), (endpoint, query, response.status_code)
    if response.status_code == 400:
        code = response.json()["error"]["code"]
        assert re.fullmatch(r"invalid_\w+|unknown_\w+|range_\w+|unsupported_filter|page_out_of_range", code), code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS), raw=st.binary(max_size=60))
def test_no_raw_query_bytes_answer_500(endpoint, raw, world, api_client):
    from urllib.parse import quote_from_bytes

    api_client.force_login(world.alice)
    response = api_client.get(BASE + endpoint + "/?" + quote_from_bytes(raw, safe="=&"))
    assert response.status_code in (200, 400, 404), (endpoint, raw, response.status_code)


# --- roles -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_role_reads_metrics_and_strangers_do_not(endpoint, world, api_client):
    query = {"by": "channel"} if endpoint == "breakdown" else {}
    for user in (world.victor, world.bob, world.carol, world.alice):
        assert get(api_client, endpoint, query, user).status_code == 200, user
    api_client.logout()
    assert get(api_client, endpoint, query).status_code in (401, 403)
    assert get(api_client, endpoint, query, world.charlie).status_code == 404  # not a member of acme
    api_client.force_login(world.alice)
    assert api_client.post(BASE + endpoint + "/", {}, format="json").status_code == 405


# --- queries ---------------------------------------------------------------------------------------

QUERY_CASES = [("summary", {}), ("summary", {"segment": 0, "staff": 0}), ("trend", {"interval": "week"}),
               ("trend", {"interval": "day", "touchpoint": 0, "channel": "web"}), ("breakdown", {"by": "staff"}),
               ("breakdown", {"by": "stage", "segment": 0}), ("breakdown", {"by": "channel"}), ("perception-gap", {}),
               ("perception-gap", {"segment": 0, "channel": "web"}), ("volatility", {}), ("funnel", {}), ("churn", {}),
               ("churn-risk", {})]


def _grow(w, rng, n):
    add_random_responses(w, rng, n, start=datetime(2026, 3, 1, tzinfo=UTC), days=40)
    with tenant_context(w.tenant):
        for client in w.clients[:n // 50]:
            ClientHealth.objects.update_or_create(client=client, defaults=dict(score=rng.randint(0, 100), band="low", method="rules",
                                                                               reasons=[], features={}, computed_at=timezone.now()))
        for _ in range(n // 50):
            InvitationFactory(survey=rng.choice(w.versions).survey, status="sent")
    rollups_rebuild(w.tenant)
    funnel_rebuild(w.tenant)


def test_the_number_of_queries_does_not_grow_with_rows(world, api_client):
    rng = random.Random(11)
    w = make_metric_world(world.a, rng)
    api_client.force_login(world.alice)

    def counts():
        out = {}
        for endpoint, query in QUERY_CASES:
            query = {k: (filter_value(w, k)[0] if v == 0 else v) for k, v in query.items()}
            query = {"from": "2026-03-01", "to": "2026-04-30", **query}
            with CaptureQueriesContext(connection) as ctx:
                response = get(api_client, endpoint, query)
            assert response.status_code == 200, (endpoint, response.content[:300])
            out[(endpoint, tuple(query))] = len(ctx.captured_queries)
        return out

    # Labels are fetched once per dimension that has rows: grow enough first that every group has some.
    _grow(w, rng, 400)
    get(api_client, "summary")  # warm up the session
    few = counts()
    _grow(w, rng, 1200)
    assert counts() == few


class TestOnWorldsBuiltOnce:
    """These tests only read the two metric worlds: built once for the class, rolled back after it (tests/shared_db.py)."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, django_db_setup, django_db_blocker):
        with built_once(django_db_blocker):
            shared = world_build()
            rng = random.Random(6)
            wa, wb = make_metric_world(shared.a, rng), make_metric_world(shared.b, rng)
            add_random_responses(wa, rng, 400)
            add_random_responses(wb, rng, 150)
            for w in (wa, wb):
                rollups_rebuild(w.tenant)
            yield shared, (wa, wb)

    @pytest.fixture
    def world(self, built, db):
        return built[0]

    @pytest.fixture
    def metric_worlds(self, built, db):
        return built[1]

    def test_it_summarises_exactly_the_stats_of_the_rows(self, metric_worlds, world, api_client):
        wa, _ = metric_worlds
        rows = _rows(world.a)
        first, last = date(2026, 3, 30), date(2026, 4, 8)  # previous period: 20–29 March
        body = get(api_client, "summary", {"from": first, "to": last}, world.alice).json()
        expected = stats.summary(py_bucket(rows, first, last), py_bucket(rows, date(2026, 3, 20), date(2026, 3, 29)), **min_n(world.a))
        assert body["from"] == "2026-03-30"
        assert body["to"] == "2026-04-08"
        assert body["previous_from"] == "2026-03-20"
        assert body["previous_to"] == "2026-03-29"
        assert body["responses"] == expected["responses"] > 0
        assert body["previous_responses"] == py_bucket(rows, date(2026, 3, 20), date(2026, 3, 29)).responses > 0
        for metric in METRIC_KEYS:
            assert body[metric] == expected[metric], metric  # every key: value, n, counts, interval, previous, change
        assert body["nps"]["change"]["significant_change"] in (True, False)
        assert body["filters"] == dict.fromkeys(("survey", "touchpoint", "stage", "journey", "segment", "staff", "channel"))


    @pytest.mark.parametrize("name", list(ATTRS))
    def test_one_filter_reads_the_dimension_rollup_and_agrees_with_python(self, name, metric_worlds, world, api_client):
        wa, _ = metric_worlds
        rows = _rows(world.a)
        value, pk = filter_value(wa, name)
        body = get(api_client, "summary", {**RANGE, name: value}, world.alice).json()
        expected = stats.blocks(py_bucket(rows, FIRST, LAST, **{name: pk}), **min_n(world.a))
        assert expected["responses"] > 0
        assert_blocks(body, expected)
        assert body["filters"][name] == value


    @pytest.mark.parametrize("names", [("segment", "staff"), ("survey", "channel"), ("touchpoint", "stage", "channel"),
                                       ("journey", "segment"), ("staff", "touchpoint", "survey", "segment")])
    def test_two_or_more_filters_read_the_cells_and_agree_with_python(self, names, metric_worlds, world, api_client):
        wa, _ = metric_worlds
        rows = _rows(world.a)
        rng = random.Random(len(names))
        for _ in range(3):
            picked = {name: filter_value(wa, name, rng) for name in names}
            body = get(api_client, "summary", {**RANGE, **{n: v for n, (v, _) in picked.items()}}, world.alice).json()
            expected = stats.blocks(py_bucket(rows, FIRST, LAST, **{n: pk for n, (_, pk) in picked.items()}), **min_n(world.a))
            assert_blocks(body, expected)


    @pytest.mark.parametrize("interval", ["day", "week", "month"])
    @pytest.mark.parametrize("query", [{}, {"segment": None}, {"staff": None, "channel": "web"}])
    def test_the_trend_per_day_week_and_month_agrees_with_python(self, interval, query, metric_worlds, world, api_client):
        wa, _ = metric_worlds
        rows = _rows(world.a)
        filters, ids = {}, {}
        for name, value in query.items():
            v, pk = filter_value(wa, name) if value is None else (value, value)
            filters[name], ids[name] = v, pk
        first, last = date(2026, 3, 18), date(2026, 4, 9)  # cuts a week and a month on both sides
        body = get(api_client, "trend", {"from": first, "to": last, "interval": interval, **filters}, world.alice).json()
        assert body["interval"] == interval
        points = body["points"]
        assert points[0]["start"] == first.isoformat()
        assert points[-1]["end"] == last.isoformat()
        covered = []
        for point in points:
            start, end = date.fromisoformat(point["start"]), date.fromisoformat(point["end"])
            assert _period_start(start, interval) == _period_start(end, interval)  # one period each
            covered += [start + timedelta(days=n) for n in range((end - start).days + 1)]
            assert_blocks(point, stats.blocks(py_bucket(rows, start, end, **ids), **min_n(world.a)))
        assert covered == [first + timedelta(days=n) for n in range((last - first).days + 1)]
        if interval == "week":
            assert all(date.fromisoformat(p["start"]).weekday() == 0 for p in points[1:])
            assert points[0]["partial"]
            assert not points[1]["partial"]
        assert sum(p["responses"] for p in points) == py_bucket(rows, first, last, **ids).responses


    @pytest.mark.parametrize("by", list(ATTRS))
    @pytest.mark.parametrize("other", [None, "same", "segment"])
    def test_the_breakdown_by_every_dimension_agrees_with_python_with_labels(self, by, other, metric_worlds, world, api_client):
        wa, _ = metric_worlds
        rows = [r for r in _rows(world.a) if FIRST <= r.local_day <= LAST]
        query, ids = {**RANGE, "by": by}, {}
        if other == "same":
            query[by], ids[by] = filter_value(wa, by)
        elif other == "segment" and by != "segment":
            query["segment"], ids["segment"] = filter_value(wa, "segment")
        body = get(api_client, "breakdown", query, world.alice).json()
        assert body["by"] == by
        rows = [r for r in rows if all(getattr(r, ATTRS[n]) == v for n, v in ids.items())]
        groups = defaultdict(list)
        for r in rows:
            groups[getattr(r, ATTRS[by])].append(r)
        names = _expected_labels(wa, by)
        objects = {"survey": [v.survey for v in wa.versions], "touchpoint": wa.touchpoints, "stage": wa.stages,
                   "journey": [wa.stages[0].journey], "segment": wa.segments, "staff": wa.staff}.get(by, [])
        public = {o.pk: str(o.uuid) for o in objects}
        expected = {}
        for value, members in groups.items():
            key = value if by == "channel" else public.get(value)
            expected[key] = stats.blocks(Bucket.merge(_of(r) for r in members), **min_n(world.a))
        got = {row["key"]: row for row in body["rows"]}
        assert set(got) == set(expected)
        for key, row in got.items():
            assert_blocks(row, expected[key])
            assert row["label"] == ("Not attributed" if key is None else names[key])
        assert [r["responses"] for r in body["rows"]] == sorted((r["responses"] for r in body["rows"]), reverse=True)
        if by in ("touchpoint", "stage", "segment", "staff") and other is None:
            assert None in got  # 25% of the rows have no such attribution


    @pytest.mark.parametrize("name", ["survey", "touchpoint", "stage", "journey", "segment", "staff"])
    def test_another_tenants_id_is_unknown(self, name, metric_worlds, world, api_client):
        _, wb = metric_worlds
        foreign = str(_b_objects(wb, world)[name].uuid)
        api_client.force_login(world.alice)
        for endpoint in ("summary", "trend", "breakdown", "perception-gap"):
            assert error_code(get(api_client, endpoint, {"by": "survey", name: foreign})) == f"unknown_{name}", endpoint
        if name in ("journey", "stage"):
            assert error_code(get(api_client, "volatility", {name: foreign})) == f"unknown_{name}"
        if name == "survey":
            assert error_code(get(api_client, "funnel", {name: foreign})) == "unknown_survey"
        if name == "segment":
            assert error_code(get(api_client, "churn", {name: foreign})) == "unknown_segment"
            assert error_code(get(api_client, "churn-risk", {name: foreign})) == "unknown_segment"
        if name == "staff":
            assert error_code(get(api_client, "churn-risk", {"owner": foreign})) == "unknown_owner"


    def test_numbers_never_include_another_tenant(self, metric_worlds, world, api_client):
        wa, wb = metric_worlds
        a_rows, b_rows = _rows(world.a), _rows(world.b)
        body = get(api_client, "summary", RANGE, world.alice).json()
        assert body["responses"] == py_bucket(a_rows, FIRST, LAST).responses
        breakdown = get(api_client, "breakdown", {**RANGE, "by": "survey"}).json()
        assert {r["key"] for r in breakdown["rows"]} <= {str(v.survey.uuid) for v in wa.versions}
        assert sum(r["responses"] for r in breakdown["rows"]) == body["responses"]
        api_client.force_login(world.charlie)
        b_body = api_client.get("/api/v1/t/globex/metrics/summary/", RANGE).json()
        assert b_body["responses"] == py_bucket(b_rows, FIRST, LAST).responses != body["responses"]
        # A's own id in B's workspace is unknown there too.
        response = api_client.get("/api/v1/t/globex/metrics/summary/", {"survey": str(wa.versions[0].survey.uuid)})
        assert error_code(response) == "unknown_survey"


    def test_the_selectors_never_read_a_response_row(self, metric_worlds, world, settings):
        settings.METRICS_PREPARED_STATEMENTS = False  # the SQL text itself, not EXECUTE of a statement prepared earlier
        wa, _ = metric_worlds
        segment, staff = wa.segments[0].pk, wa.staff[0].pk
        filters = [MetricFilters(first=FIRST, last=LAST), MetricFilters(first=FIRST, last=LAST, segment=segment),
                   MetricFilters(first=FIRST, last=LAST, segment=segment, staff=staff, channel="web")]
        with tenant_context(world.a), CaptureQueriesContext(connection) as ctx:
            for f in filters:
                selectors.metrics_summary(world.a, f)
                for interval in ("day", "week", "month"):
                    selectors.metrics_trend(world.a, f, interval)
                for by in ATTRS:
                    selectors.metrics_breakdown(world.a, f, by)
                selectors.perception_gap(world.a, f)
            selectors.volatility(world.a, MetricFilters(first=FIRST, last=LAST))
            funnel_selectors.funnel(world.a, MetricFilters(first=FIRST, last=LAST))
            list(churn_selectors.client_health_list(world.a))
            churn_selectors.churn_model_current()
        sql = [q["sql"] for q in ctx.captured_queries]
        assert len(sql) > 50
        assert not [s for s in sql if re.search(r'\bsurveys_response\b', s)], "a metrics selector read response rows"
        assert any("metrics_responsecell" in s for s in sql)
        assert any("metrics_responserollup" in s for s in sql)

    @pytest.mark.postgres
    def test_the_rollup_reads_are_prepared_once_per_connection_with_the_same_numbers(self, metric_worlds, world, settings):
        f = MetricFilters(first=FIRST, last=LAST, channel="web")
        settings.METRICS_PREPARED_STATEMENTS = False
        with tenant_context(world.a):
            plain = selectors.metrics_summary(world.a, f), selectors.metrics_trend(world.a, f, "week")
        settings.METRICS_PREPARED_STATEMENTS = True
        with tenant_context(world.a), CaptureQueriesContext(connection) as ctx:
            for _ in range(3):
                assert (selectors.metrics_summary(world.a, f), selectors.metrics_trend(world.a, f, "week")) == plain
        sql = [q["sql"] for q in ctx.captured_queries]
        assert len([s for s in sql if s.startswith("PREPARE cxm_")]) <= 2, "each statement prepared at most once"
        assert len(sql) == 6, "one statement per read (a first one prepares and executes in one)"

