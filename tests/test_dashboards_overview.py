"""The CX lead overview (issue 7, page 1) and its comments selector.

Every number on the page equals the metrics API's for the same filters (`state.api_params()`), the
numbers move with the filters, bad input answers 400 with the error shown, each table downloads as
CSV, htmx gets only the #dashboard fragment, an empty workspace gets a helpful empty state, another
tenant's rows never appear, and the query count does not grow with the data."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dashboards.pages.overview import CHART_ROWS, default_interval
from apps.metrics.params import MetricFilters
from apps.metrics.rollups import rollups_rebuild
from apps.metrics.scores.comments import comments_latest
from apps.reports.panels import number
from apps.surveys.models import Answer, QuestionType, Response, SurveyKind
from apps.tenancy.context import tenant_context
from tests.builders import overview_world
from tests.factories import QuestionFactory, TouchpointFactory
from tests.shared_db import built_once, world_build

pytestmark = pytest.mark.postgres

PAGE = "/t/acme/dashboards/"
API = "/api/v1/t/acme/metrics/"
FIRST, LAST = date(2026, 3, 20), date(2026, 4, 8)  # add_random_responses' default span (20 days)
RANGE = {"period": "custom", "from": FIRST.isoformat(), "to": LAST.isoformat()}


def page_get(client, user, query=None, **headers):
    client.force_login(user)
    return client.get(PAGE, query if query is not None else RANGE, headers=headers)


def api(api_client, user, endpoint, params):
    api_client.force_login(user)
    response = api_client.get(API + endpoint + "/", params)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def rows_of(page, table_id):
    return {t.id: t for t in page.tables}[table_id].rows


# --- roles -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["bob", "dana"])
def test_it_requires_a_reader_role(world, client, who):
    client.force_login(getattr(world, who))  # staff of A
    assert client.get(PAGE).status_code == 403


def test_it_404s_for_other_tenant(world, client):
    client.force_login(world.charlie)  # admin of B only
    assert client.get(PAGE).status_code == 404


def test_it_does_not_accept_posts(world, client):
    client.force_login(world.alice)
    assert client.post(PAGE).status_code == 405


# --- isolation -------------------------------------------------------------------------------------

# --- the numbers are the API's ---------------------------------------------------------------------

FILTER_CASES = {
    "none": lambda w: {},
    "touchpoint": lambda w: {"touchpoint": str(w.touchpoints[0].uuid)},  # one dimension: rollups
    "touchpoint+channel": lambda w: {"touchpoint": str(w.touchpoints[1].uuid), "channel": "email"},  # cells
    "staff+segment": lambda w: {"staff": str(w.staff[0].uuid), "segment": str(w.segments[0].uuid)},
    "survey": lambda w: {"survey": str(w.versions[0].survey.uuid)},
}


# --- filters and options ----------------------------------------------------------------------------

# --- CSV, htmx ---------------------------------------------------------------------------------------

# --- empty states -------------------------------------------------------------------------------------

def test_an_empty_workspace_says_what_to_do(world, client):
    response = page_get(client, world.carol, {})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No responses yet" in html
    assert "Publish a survey" in html
    assert "/t/acme/surveys/" in html
    page = response.context["page"]
    assert [t.value for t in page.tiles] == ["—", "—", "—"]
    assert page.empty
    assert not page.has_responses
    assert all(not chart.has_data for chart in (*page.trends, *page.breakdowns, page.funnel, page.response_rates))
    # Tiles and the message only: no low-sample warning without answers, no empty chart panels.
    assert "Low sample" not in html
    assert "No answers in the previous 30 days" in html
    assert "data-chart=" not in html
    assert "Latest comments" not in html
    assert "Trends" not in html
    viewer = page_get(client, world.victor, {}).content.decode()
    assert "No responses yet" in viewer
    assert "Publish a survey" not in viewer  # viewers cannot publish


def test_an_empty_period_still_shows_the_funnel_when_invitations_were_sent(world, client):
    overview_world(world.a, random.Random(9), 0, invitations=20)
    response = page_get(client, world.alice)
    page = response.context["page"]
    assert page.empty
    assert page.funnel.has_data
    assert "Response funnel" in response.content.decode()
    assert response.content.decode().count("data-chart=") == 2


def test_long_breakdowns_chart_the_values_with_most_answers(world, client):
    rng = random.Random(3)
    w = overview_world(world.a, rng, 10, invitations=0)
    with tenant_context(world.a):
        extra = [TouchpointFactory(tenant=world.a) for _ in range(CHART_ROWS + 3)]
        for i, touchpoint in enumerate(extra):
            Response.objects.bulk_create([Response(tenant=world.a, version=w.versions[0], survey=w.versions[0].survey, channel="web",
                                                   submitted_at=datetime(2026, 3, 25, 10, tzinfo=UTC), local_day=date(2026, 3, 25),
                                                   touchpoint=touchpoint, nps=(i % 11)) for _ in range(1 + i % 3)])
    rollups_rebuild(world.a)
    chart = next(c for c in page_get(client, world.alice).context["page"].breakdowns if c.id == "by-touchpoint")
    assert len(chart.figure["data"][0]["y"]) == CHART_ROWS
    assert len(chart.table.rows) > CHART_ROWS
    assert f"shows the {CHART_ROWS} values with the most answers" in chart.table.caption


# --- fixed query count --------------------------------------------------------------------------------

def _queries(client, query):
    client.get(PAGE, query)  # warm up (session, one-off work)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PAGE, query)
    assert response.status_code == 200
    page = response.context["page"]
    # Every data-dependent read ran (labels of each breakdown, comments and their answers, survey names).
    assert page.comments
    assert all(c.has_data for c in page.breakdowns)
    assert page.response_rates.has_data
    return len(ctx.captured_queries)


@pytest.mark.parametrize("extra", [{}, {"touchpoint": 0, "channel": "email"}])
def test_the_query_count_is_fixed(world, client, extra):
    rng = random.Random(11)
    w = overview_world(world.a, rng, 120, comment_share=0.5, invitations=10)
    query = {**RANGE, **{k: (str(w.touchpoints[0].uuid) if k == "touchpoint" else v) for k, v in extra.items()}}
    client.force_login(world.carol)
    few = _queries(client, query)
    overview_world(world.a, rng, 600, prefix="More ", comment_share=0.5, invitations=60)  # more of everything: labels, staff, surveys
    many = _queries(client, query)
    assert few == many, f"{few} queries with few rows, {many} with many"


# --- the comments selector ------------------------------------------------------------------------------

def test_comments_latest_reads_the_newest_counted_comments(world, django_assert_num_queries):
    rng = random.Random(5)
    w = overview_world(world.a, rng, 0, invitations=0)
    version, enps = w.versions[0], next(v for v in w.versions if v.survey.kind == SurveyKind.ENPS)

    def make(day, hour, comment, **fields):
        with tenant_context(world.a):
            return Response.objects.create(tenant=world.a, version=fields.pop("version", version), survey=fields.pop("survey", version.survey),
                                           channel=fields.pop("channel", "email"), comment=comment,
                                           submitted_at=datetime(2026, 3, day, hour, tzinfo=UTC), **fields)

    older = make(21, 9, "older", nps=3, client=w.clients[0])
    newest = make(23, 9, "newest", nps=10, csat=5, ces=6, touchpoint=w.touchpoints[0])
    make(22, 9, "a bot", nps=0, is_bot=True)
    make(22, 10, "", nps=5)  # no comment
    make(22, 11, "staff pulse", enps=2, version=enps, survey=enps.survey)
    make(10, 9, "before the range", nps=7)
    kiosk = make(22, 12, "kiosk", smiley=3, channel="kiosk")
    with tenant_context(world.a):
        texts = {q.version_id: q for q in version.questions.all()}
        Answer.objects.create(tenant=world.a, response=newest, question=texts[version.pk], value="newest, in full")
        second = QuestionFactory(version=version, type=QuestionType.TEXT, key="more", order=60)
        Answer.objects.create(tenant=world.a, response=newest, question=second, value="and a second answer")
        f = MetricFilters(first=FIRST, last=LAST)
        with django_assert_num_queries(2):
            rows = comments_latest(filters=f, limit=10)
        assert [r.texts for r in rows] == [("newest, in full", "and a second answer"), ("kiosk",), ("older",)]
        assert rows[0].nps == 10
        assert rows[0].csat == 5
        assert rows[0].ces == 6
        assert rows[0].response == newest.uuid
        assert rows[1].smiley == 3
        assert rows[1].channel == "Kiosk"
        assert rows[1].client == ""
        assert rows[2].client == w.clients[0].name
        assert rows[2].day == date(2026, 3, 21)
        assert rows[2].survey == version.survey.name
        assert [r.response for r in comments_latest(filters=f, limit=2)] == [newest.uuid, kiosk.uuid]
        only = MetricFilters(first=FIRST, last=LAST, touchpoint=w.touchpoints[0].pk)
        assert [r.response for r in comments_latest(filters=only)] == [newest.uuid]
        by_channel = MetricFilters(first=FIRST, last=LAST, channel="kiosk")
        assert [r.response for r in comments_latest(filters=by_channel)] == [kiosk.uuid]
        with django_assert_num_queries(1):
            assert comments_latest(filters=MetricFilters(first=date(2025, 1, 1), last=date(2025, 1, 2))) == []
    assert rows[2].response == older.uuid


class TestOnWorldsBuiltOnce:
    """These tests only read the two worlds: built once for the class, rolled back after it (tests/shared_db.py)."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, django_db_setup, django_db_blocker):
        with built_once(django_db_blocker):
            shared = world_build()
            rng = random.Random(7)
            wa = overview_world(shared.a, rng, 400, marker="ACME: ")
            wb = overview_world(shared.b, rng, 200, prefix="Globex ", marker="GLOBEX-ONLY: ")
            yield shared, (wa, wb)

    @pytest.fixture
    def world(self, built, db):
        return built[0]

    @pytest.fixture
    def worlds(self, built, db):
        return built[1]

    @pytest.mark.parametrize("who", ["alice", "carol", "victor"])
    def test_it_renders_for_each_reader_role(self, worlds, world, client, who):
        response = page_get(client, getattr(world, who))
        assert response.status_code == 200
        html = response.content.decode()
        for heading in ("NPS", "CSAT", "CES", "NPS per day", "NPS by touchpoint", "NPS by channel", "Response funnel", "Latest comments"):
            assert heading in html
        assert html.count("data-chart=") == 3 + 5 + 2  # trends, breakdowns, funnel and response rates
        assert "ACME: " in html


    def test_another_tenants_data_never_appears(self, worlds, world, client, api_client):
        _, wb = worlds
        response = page_get(client, world.alice)
        html = response.content.decode()
        assert "GLOBEX-ONLY" not in html
        assert "Globex " not in html
        for table in response.context["page"].tables:
            for row in table.rows:
                assert not any(isinstance(cell, str) and ("Globex" in cell or "GLOBEX" in cell) for cell in row), table.id
        # A's numbers are A's own: they equal A's rows and differ from B's for the same days.
        a_n = dict(rows_of(response.context["page"], "tile-nps"))["n"]
        with tenant_context(world.a):
            assert a_n == Response.objects.filter(is_bot=False, local_day__range=(FIRST, LAST), nps__isnull=False).count()
        with tenant_context(world.b):
            assert a_n != Response.objects.filter(is_bot=False, local_day__range=(FIRST, LAST), nps__isnull=False).count()


    def test_it_refuses_another_tenants_ids_like_missing_ones(self, worlds, world, client):
        _, wb = worlds
        foreign = page_get(client, world.alice, {**RANGE, "touchpoint": str(wb.touchpoints[0].uuid)})
        missing = page_get(client, world.alice, {**RANGE, "touchpoint": "00000000-0000-4000-8000-000000000000"})
        assert foreign.status_code == missing.status_code == 400
        assert "Select a valid choice" in foreign.content.decode()
        assert "Globex" not in foreign.content.decode()


    @pytest.mark.parametrize("case", sorted(FILTER_CASES))
    def test_the_numbers_equal_the_metrics_api(self, worlds, world, client, api_client, case):
        wa, _ = worlds
        response = page_get(client, world.carol, {**RANGE, **FILTER_CASES[case](wa)})
        assert response.status_code == 200
        state, page = response.context["state"], response.context["page"]
        params = state.api_params()
        html = response.content.decode()

        summary = api(api_client, world.carol, "summary", params)
        assert page.responses.startswith(f"{number(summary['responses'])} response")
        for metric in ("nps", "csat", "ces"):
            block = summary[metric]
            rows = dict(rows_of(page, f"tile-{metric}"))
            assert rows["Value"] == block["value"]
            assert rows["n"] == block["n"]
            assert rows["95% CI low"] == block["ci_low"]
            assert rows["95% CI high"] == block["ci_high"]
            assert rows["Previous value"] == block["previous"]["value"]
            assert rows["Previous n"] == block["previous"]["n"]
            tile = next(t for t in page.tiles if t.id == metric)
            digits = 1 if metric == "ces" else 0
            assert tile.value.startswith(number(block["value"], digits)) if block["value"] is not None else tile.value == "—"
            assert f"n = {tile.n}" in html

        trend = api(api_client, world.carol, "trend", {**params, "interval": page.interval})
        for metric in ("nps", "csat", "ces"):
            expected = [(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), p[metric]["value"], p[metric]["ci_low"],
                         p[metric]["ci_high"], p[metric]["n"]) for p in trend["points"]]
            assert [row[:6] for row in rows_of(page, f"trend-{metric}")] == expected

        for by in ("touchpoint", "stage", "segment", "staff", "channel"):
            breakdown = api(api_client, world.carol, "breakdown", {**params, "by": by})
            expected = {(r["label"], r["nps"]["value"], r["nps"]["ci_low"], r["nps"]["ci_high"], r["nps"]["n"], r["responses"])
                        for r in breakdown["rows"] if r["nps"]["n"]}
            assert {row[:6] for row in rows_of(page, f"by-{by}")} == expected, by

        funnel = api(api_client, world.carol, "funnel", {k: v for k, v in params.items() if k in ("from", "to", "survey", "channel")})
        steps = dict((label, value) for label, value, _ in rows_of(page, "funnel"))
        assert steps["Invited"] == funnel["overall"]["invited"]
        assert steps["Responded"] == funnel["overall"]["responded"]
        assert steps["Delivered"] == funnel["overall"]["delivered"]
        assert steps["Skipped (never sent)"] == funnel["overall"]["skipped"]
        assert steps["Response rate (% of delivered)"] == funnel["overall"]["response_rate"]
        assert [(r[0], r[1], r[4], r[5]) for r in rows_of(page, "response-rate")] == [
            (s["label"], s["invited"], s["responded"], s["response_rate"]) for s in funnel["surveys"]]


    def test_the_breakdowns_follow_the_chosen_metric(self, worlds, world, client, api_client):
        response = page_get(client, world.carol, {**RANGE, "metric": "ces"})
        page = response.context["page"]
        assert page.metric == "ces"
        assert "CES by touchpoint" in response.content.decode()
        breakdown = api(api_client, world.carol, "breakdown", {**response.context["state"].api_params(), "by": "touchpoint"})
        assert {row[:5] for row in rows_of(page, "by-touchpoint")} == {
            (r["label"], r["ces"]["value"], r["ces"]["ci_low"], r["ces"]["ci_high"], r["ces"]["n"]) for r in breakdown["rows"] if r["ces"]["n"]}
        values = [row[1] for row in rows_of(page, "by-touchpoint") if row[0] != "Not attributed"]
        assert values == sorted(values, reverse=True)  # best first
        assert rows_of(page, "by-touchpoint")[-1][0] == "Not attributed"


    def test_filters_change_the_numbers(self, worlds, world, client):
        wa, _ = worlds
        everything = page_get(client, world.alice).context["page"]
        one_touchpoint = page_get(client, world.alice, {**RANGE, "touchpoint": str(wa.touchpoints[0].uuid)}).context["page"]
        shorter = page_get(client, world.alice, {**RANGE, "to": (FIRST + timedelta(days=4)).isoformat()}).context["page"]
        n = {name: dict(rows_of(p, "tile-nps"))["n"] for name, p in (("all", everything), ("tp", one_touchpoint), ("short", shorter))}
        assert 0 < n["tp"] < n["all"]
        assert 0 < n["short"] < n["all"]
        assert len(rows_of(shorter, "trend-nps")) == 5
        labels = {row[0] for row in rows_of(one_touchpoint, "by-touchpoint")}
        assert labels == {wa.touchpoints[0].name}


    def test_the_interval_defaults_to_the_range_and_can_be_chosen(self, worlds, world, client):
        assert default_interval(MetricFilters(first=date(2026, 1, 1), last=date(2026, 1, 31))) == "day"
        assert default_interval(MetricFilters(first=date(2026, 1, 1), last=date(2026, 6, 29))) == "week"
        assert default_interval(MetricFilters(first=date(2026, 1, 1), last=date(2026, 6, 30))) == "month"
        page = page_get(client, world.alice).context["page"]
        assert page.interval == "day"
        assert [s.current for s in page.interval_switch] == [True, False, False]
        response = page_get(client, world.alice, {**RANGE, "interval": "week"})
        page = response.context["page"]
        assert page.interval == "week"
        assert len(rows_of(page, "trend-nps")) == 4  # Fri 20 Mar … Wed 8 Apr touches 4 weeks
        assert "NPS per week" in response.content.decode()
        # The chosen interval is carried: by the CSV links, the other switch, and the filter bar (hidden input).
        assert "interval=week" in page.links.query
        assert all("interval=week" in s.query for s in page.metric_switch)
        assert '<input type="hidden" name="interval" value="week">' in response.content.decode()
        long = page_get(client, world.alice, {"period": "custom", "from": "2025-04-01", "to": "2026-04-08"}).context["page"]
        assert long.interval == "month"


    @pytest.mark.parametrize("query,message", [
        ({"period": "custom", "from": "2026-13-01", "to": "2026-04-08"}, "Enter a valid date"),
        ({"period": "custom", "from": "2026-04-08", "to": "2026-03-01"}, "is after"),
        ({"period": "custom", "from": "2026-04-08"}, "needs both"),
        ({"period": "fortnight"}, "Select a valid choice"),
        ({**RANGE, "channel": "carrier-pigeon"}, "Select a valid choice"),
        ({**RANGE, "stage": "not-a-uuid"}, "is not a valid UUID"),
        ({**RANGE, "interval": "hour"}, "Trend interval"),
        ({**RANGE, "metric": "smiles"}, "Breakdown metric"),
    ])
    def test_invalid_input_answers_400_with_the_error(self, worlds, world, client, query, message):
        response = page_get(client, world.alice, query)
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html
        assert "Fix the filters above" in html
        assert response.context["page"] is None
        # A CSV of refused filters is the page with its errors, not a file.
        assert page_get(client, world.alice, {**query, "csv": "tile-nps"}).status_code == 400


    def test_every_table_downloads_as_csv(self, worlds, world, client):
        page = page_get(client, world.victor).context["page"]
        ids = [t.id for t in page.tables]
        assert len(ids) == len(set(ids)) == 3 + 3 + 5 + 2 + 1
        for table in page.tables:
            response = page_get(client, world.victor, {**RANGE, "csv": table.id})
            assert response.status_code == 200
            assert response["Content-Type"].startswith("text/csv")
            assert f"acme_overview_{table.id}_2026-03-20_2026-04-08.csv" in response["Content-Disposition"]
            rows = list(csv.reader(io.StringIO(response.content.decode())))
            assert tuple(rows[0]) == table.columns, table.id
            assert len(rows) == len(table.rows) + 1, table.id
        assert page_get(client, world.victor, {**RANGE, "csv": "nope"}).status_code == 404


    def test_the_csv_of_a_chart_follows_the_chosen_options(self, worlds, world, client):
        weekly = page_get(client, world.alice, {**RANGE, "interval": "week", "csv": "trend-csat"})
        assert len(list(csv.reader(io.StringIO(weekly.content.decode())))) == 4 + 1
        by_csat = page_get(client, world.alice, {**RANGE, "metric": "csat", "csv": "by-channel"})
        assert next(csv.reader(io.StringIO(by_csat.content.decode())))[1] == "CSAT"


    def test_htmx_gets_only_the_dashboard_fragment(self, worlds, world, client):
        response = page_get(client, world.alice, HX_Request="true")
        html = response.content.decode().strip()
        assert response.status_code == 200
        assert html.startswith('<div id="dashboard"')
        assert "<html" not in html
        assert "<nav class=\"subnav\"" not in html
        assert "data-chart=" in html
        assert 'class="filter-bar"' in html
        refused = page_get(client, world.alice, {"period": "custom", "from": "x"}, HX_Request="true")
        assert refused.status_code == 400
        assert refused.content.decode().strip().startswith('<div id="dashboard"')


    def test_an_empty_period_says_so(self, worlds, world, client):
        response = page_get(client, world.alice, {"period": "custom", "from": "2025-01-01", "to": "2025-01-31"})
        assert response.status_code == 200
        page = response.context["page"]
        assert page.quiet
        assert not page.empty
        html = response.content.decode()
        assert "No responses in this period" in html
        assert "No responses yet" not in html
        assert "Trends" not in html
        assert "Latest comments" not in html


    def test_the_funnel_says_which_filters_it_cannot_apply(self, worlds, world, client):
        wa, _ = worlds
        page = page_get(client, world.alice, {**RANGE, "touchpoint": str(wa.touchpoints[0].uuid), "channel": "email"}).context["page"]
        assert page.funnel_note == ("The funnel counts invitations, which carry only a survey and a channel: the touchpoint filter "
                                    "does not apply to it.")
        assert page_get(client, world.alice, {**RANGE, "survey": str(wa.versions[0].survey.uuid)}).context["page"].funnel_note == ""


    def test_comments_latest_never_reads_another_tenant(self, worlds, world):
        with tenant_context(world.a):
            rows = comments_latest(filters=MetricFilters(first=FIRST, last=LAST), limit=200)
        assert rows
        assert all(text.startswith("ACME: ") for r in rows for text in r.texts)

