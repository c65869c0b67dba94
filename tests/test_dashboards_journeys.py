"""The journey view (issue 7 page 2): the journey map's stages in order with NPS/CSAT/CES, n and interval
per stage, volatility per stage transition, moments of truth, and the largest drop named in words.
Readers only; another tenant's numbers never appear; the numbers equal the metrics API's for the same
filters; filters change them; refused filters answer 400; CSV per table; the htmx fragment; empty
states; a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dashboards.pages.journeys import largest_drop, stage_scores_figure
from apps.tenancy.context import tenant_context
from tests.builders import PROFILE_B, STAGES, add_journey_responses, build_journey_world, csv_rows
from tests.factories import (
    JourneyFactory,
    MembershipFactory,
    StageFactory,
    StageTouchpointFactory,
    TouchpointFactory,
    UserFactory,
)
from tests.html_injection import live_element_with

pytestmark = pytest.mark.postgres

URL = "/t/{slug}/dashboards/journeys/"
API = "/api/v1/t/{slug}/metrics/"


@pytest.fixture
def worlds(world):
    """Tenant A (bob and dana are staff) and tenant B (its own staff member, a colliding journey name)."""
    wa = build_journey_world(world.a, staff=[world.membership(world.bob, world.a), world.membership(world.dana, world.a)])
    b_staff = MembershipFactory(tenant=world.b, user=UserFactory(email="zed@example.com", full_name="Zed Bworker"))
    wb = build_journey_world(world.b, staff=[b_staff], profile=PROFILE_B, clients=9, seed=2)
    return wa, wb


def page(client, user, query="", slug="acme", **headers):
    client.force_login(user)
    return client.get(URL.format(slug=slug) + query, headers=headers)


def api(client, user, endpoint, params, slug="acme"):
    client.force_login(user)
    response = client.get(API.format(slug=slug) + endpoint + "/", params)
    assert response.status_code == 200, response.content
    return response.json()


# --- roles ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "carol", "victor"])
def test_it_renders_the_journey_for_each_reader(who, world, worlds, client):
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Client onboarding" in html
    for name in STAGES:
        assert name in html
    assert "Moment of truth: </span>Proposal call" in html
    assert "Engagement letter" in html
    assert "Where scores drop most." in html


@pytest.mark.parametrize("who", ["bob", "dana"])
def test_it_requires_a_reader(who, world, worlds, client):
    assert page(client, getattr(world, who)).status_code == 403


def test_it_404s_for_other_tenant(world, worlds, client):
    assert page(client, world.charlie).status_code == 404


# --- the numbers ------------------------------------------------------------------------------------

def test_its_stage_numbers_equal_the_metrics_api(world, worlds, client):
    wa, _ = worlds
    response = page(client, world.carol)
    state, built = response.context["state"], response.context["page"]
    params = {**state.api_params(), "journey": str(wa.journey.uuid)}
    breakdown = {row["key"]: row for row in api(client, world.carol, "breakdown", {**params, "by": "stage"})["rows"]}
    table = built.stages_table
    for stage, row in zip(wa.stages, table.rows, strict=True):
        expected = breakdown[str(stage.uuid)]
        assert row[0] == stage.name
        assert row[3] == expected["responses"]
        for i, metric in enumerate(("nps", "csat", "ces")):
            assert row[4 + 4 * i: 8 + 4 * i] == (expected[metric]["value"], expected[metric]["n"], expected[metric]["ci_low"],
                                                 expected[metric]["ci_high"])
    summary = api(client, world.carol, "summary", params)
    for tile in built.tiles[:3]:
        assert dict(tile.table.rows)["Value"] == summary[tile.id]["value"]
        assert tile.n == summary[tile.id]["n"]
    volatility = api(client, world.carol, "volatility", {"from": params["from"], "to": params["to"], "journey": params["journey"]})
    assert built.tiles[3].n == volatility["overall"]["n"]
    assert dict(built.tiles[3].table.rows)["Value"] == volatility["overall"]["value"]
    chart = {c.id: c for c in built.charts}["volatility"]
    assert [r[1:5] for r in chart.table.rows] == [(t["value"], t["n"], t["ci_low"], t["ci_high"]) for t in volatility["transitions"]]
    assert [r[0] for r in chart.table.rows] == [f"{t['from_label']} → {t['to_label']}" for t in volatility["transitions"]]
    # consecutive transitions are shown between the stages on the map
    by_pair = {(t["from_stage"], t["to_stage"]): t for t in volatility["transitions"]}
    for column, nxt in zip(built.stages, wa.stages[1:], strict=False):
        t = by_pair[(str(column.stage.uuid), str(nxt.uuid))]
        assert column.next.n == t["n"]
        assert column.next.to_name == nxt.name
    # and the numbers are on the page, formatted
    html = response.content.decode()
    first = breakdown[str(wa.stages[0].uuid)]["nps"]
    assert f"n = {first['n']}" in html


def test_it_names_the_stage_where_scores_drop_most(world, worlds, client):
    response = page(client, world.carol)
    built = response.context["page"]
    assert built.drop.sentence.startswith("NPS drops most from Discover to Sign")
    assert built.drop.clear is True
    assert "do not overlap" in built.drop.sentence
    assert [c.next.largest_drop for c in built.stages[:-1]] == [True, False, False]
    assert "Largest NPS drop" in response.content.decode()
    # the chosen metric drives the sentence and the chart
    built = page(client, world.carol, "?metric=ces").context["page"]
    assert built.drop.sentence.startswith("CES drops most from Discover to Sign")
    assert built.charts[0].title == "CES along the journey"


def test_largest_drop_says_when_the_intervals_overlap():
    points = [("A", {"value": 40.0, "ci_low": 10.0, "ci_high": 60.0}), ("B", {"value": 30.0, "ci_low": 0.0, "ci_high": 50.0}),
              ("C", {"value": None, "ci_low": None, "ci_high": None}), ("D", {"value": 0.0, "ci_low": -20.0, "ci_high": 20.0})]
    drop = largest_drop(points, "nps", [1, 2, 3, 4])
    assert drop.clear is False
    assert drop.from_position == 1  # B → C → D is not consecutive with values
    assert "overlap" in drop.sentence
    assert "not clear" in drop.sentence
    assert "−10 points" in drop.sentence
    rising = [("A", {"value": 1.0, "ci_low": 0.0, "ci_high": 2.0}), ("B", {"value": 3.0, "ci_low": 2.0, "ci_high": 4.0})]
    assert largest_drop(rising, "ces", [1, 2]).sentence == "CES does not fall from any stage to the next in this period."
    lone = [("A", {"value": 1.0}), ("B", {"value": None})]
    assert "no drop can be named" in largest_drop(lone, "csat", [1, 2]).sentence
    thin = [("A", {"value": 5.0, "ci_low": None, "ci_high": None}), ("B", {"value": 2.0, "ci_low": 1.0, "ci_high": 3.0})]
    assert "A has too few answers for an interval" in largest_drop(thin, "ces", [1, 2]).sentence


def test_the_stage_figure_keeps_gaps_and_marks_low_samples():
    blocks = [{"value": 10.0, "n": 40, "ci_low": 0.0, "ci_high": 20.0, "low_sample": False},
              {"value": None, "n": 0, "ci_low": None, "ci_high": None, "low_sample": True},
              {"value": -5.0, "n": 3, "ci_low": -60.0, "ci_high": 50.0, "low_sample": True}]
    figure = stage_scores_figure(["1. A", "2. B", "3. C"], blocks, metric="nps")
    line = figure["data"][-1]
    assert line["y"] == [10.0, None, -5.0]
    assert line["marker"]["symbol"] == ["circle", "circle-open", "circle-open"]
    assert figure["layout"]["xaxis"]["type"] == "category"
    assert figure["layout"]["yaxis"]["range"] == [-106, 106]


# --- tenant isolation -------------------------------------------------------------------------------

def test_another_tenants_numbers_never_appear(world, worlds, client):
    wa, wb = worlds
    a_page = page(client, world.carol).context["page"]
    b_page = page(client, world.charlie, slug="globex").context["page"]
    assert a_page.journey.pk == wa.journey.pk
    assert b_page.journey.pk == wb.journey.pk
    a_n = [row[3] for row in a_page.stages_table.rows]
    b_n = [row[3] for row in b_page.stages_table.rows]
    assert a_n == [14] * 4
    assert b_n == [9] * 4
    assert a_page.drop.sentence != b_page.drop.sentence
    assert "Zed" not in page(client, world.carol).content.decode()
    # B's journey uuid on A's page is refused like a missing one
    response = page(client, world.carol, f"?journey={wb.journey.uuid}")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


# --- filters ----------------------------------------------------------------------------------------

def test_filters_change_the_numbers(world, worlds, client):
    wa, _ = worlds
    everyone = page(client, world.carol).context["page"]
    segment = page(client, world.carol, f"?segment={wa.segment.uuid}").context["page"]
    web = page(client, world.carol, "?channel=web").context["page"]
    week = page(client, world.carol, "?period=7d").context["page"]
    totals = [sum(row[3] for row in p.stages_table.rows) for p in (everyone, segment, web, week)]
    assert totals[0] == 56
    assert totals[1] == 28
    assert totals[2] == 28
    assert totals[3] < totals[0]
    assert "segment and channel filters do not apply" in " ".join(segment.notes)


def test_a_chosen_journey_is_shown_and_the_default_is_the_first_active_one(world, worlds, client):
    wa, _ = worlds
    with tenant_context(world.a):
        draft = JourneyFactory(tenant=world.a, name="A draft journey", status="draft")
        StageFactory(journey=draft, order=1, name="Only stage")
        archived = JourneyFactory(tenant=world.a, name="Aardvark (archived)", status="archived")
    response = page(client, world.carol)
    assert response.context["page"].journey.pk == wa.journey.pk  # first *active* by name, not "A draft journey"
    assert f'value="{wa.journey.uuid}" selected' in response.content.decode()
    assert "All journeys" not in response.content.decode()  # the page always shows one journey
    assert "journey=" not in response.context["state"].query  # a default is not carried to the other pages
    chosen = page(client, world.carol, f"?journey={draft.uuid}")
    assert chosen.status_code == 200
    assert chosen.context["page"].journey.pk == draft.pk
    assert "Only stage" in chosen.content.decode()
    assert chosen.context["page"].drop.sentence.startswith("No two consecutive stages")
    assert f"journey={draft.uuid}" in chosen.context["state"].query
    assert page(client, world.carol, f"?journey={archived.uuid}").context["page"].journey.pk == archived.pk


@pytest.mark.parametrize("query,field", [("?period=custom&from=2026-02-30&to=2026-03-01", "from"), ("?from=2026-05-01&to=2026-04-01", None),
                                         ("?journey=not-a-uuid", "journey"), ("?channel=pigeon", "channel"), ("?metric=median", "metric")])
def test_an_invalid_filter_answers_400_with_the_error_shown(query, field, world, worlds, client):
    response = page(client, world.carol, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Fix the filters above to see the numbers." in html
    if field:
        assert response.context["state"].form.errors[field]
    assert 'class="field__error"' in html or "errorlist" in html


# --- CSV and htmx -----------------------------------------------------------------------------------

def test_each_table_downloads_as_csv(world, worlds, client):
    response = page(client, world.carol)
    built = response.context["page"]
    ids = [t.id for t in built.tables]
    assert len(ids) == len(set(ids))
    assert {"stages", "stage-scores", "volatility-transitions", "tile-nps", "tile-volatility"} <= set(ids)
    for table in built.tables:
        got = page(client, world.carol, f"?csv={table.id}")
        assert got.status_code == 200
        assert got["Content-Type"].startswith("text/csv")
        rows = csv_rows(got)
        assert tuple(rows[0]) == table.columns
        assert len(rows) == len(table.rows) + 1
    stages = csv_rows(page(client, world.carol, "?csv=stages"))
    assert [row[0] for row in stages[1:]] == list(STAGES)
    assert "csv=stages" in response.content.decode()
    assert page(client, world.carol, "?csv=nope").status_code == 404


def test_an_htmx_request_gets_only_the_dashboard_fragment(world, worlds, client):
    response = page(client, world.carol, "?period=90d", HX_Request="true")
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<div id="dashboard"')
    assert "<html" not in html
    assert "<nav" not in html.split("filter-bar")[0]
    assert "Discover" in html


# --- empty states -----------------------------------------------------------------------------------

def test_an_empty_workspace_says_what_to_do(world, client):
    response = page(client, world.carol)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No journeys yet." in html
    assert "/journeys/new/" in html
    assert "Ask a CX lead" in page(client, world.victor).content.decode()


def test_a_journey_without_responses_shows_its_stages_with_no_scores(world, client):
    build_journey_world(world.a, staff=[world.membership(world.bob, world.a)], with_responses=False)
    response = page(client, world.carol)
    built = response.context["page"]
    assert response.status_code == 200
    assert [s.scores[0].value for s in built.stages] == ["—"] * 4
    assert all(c.empty for c in built.charts)
    assert "No responses for this journey in this period" in response.content.decode()
    assert built.drop.sentence.startswith("No two consecutive stages both have NPS answers")


def test_a_journey_without_stages_says_so(world, client):
    with tenant_context(world.a):
        JourneyFactory(tenant=world.a, name="Bare", status="active")
    response = page(client, world.carol)
    assert response.status_code == 200
    assert "This journey has no stages yet." in response.content.decode()


# --- queries ----------------------------------------------------------------------------------------

def _queries(client, user, query=""):
    client.force_login(user)
    path = URL.format(slug="acme") + query
    client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("query", ["", "?metric=csat&channel=web", "?journey={journey}&segment={segment}"])
def test_the_number_of_queries_is_fixed(query, world, client):
    wa = build_journey_world(world.a, staff=[world.membership(world.bob, world.a)], clients=2)
    query = query.format(journey=wa.journey.uuid, segment=wa.segment.uuid)
    few = _queries(client, world.carol, query)
    wa.staff.append(world.membership(world.dana, world.a))
    add_journey_responses(wa, clients=30, seed=5)
    with tenant_context(world.a):
        for _ in range(3):  # more placements on the journey shown, and more journeys to choose from
            StageTouchpointFactory(stage=wa.stages[0], touchpoint=TouchpointFactory(tenant=world.a))
    build_journey_world(world.a, staff=wa.staff, clients=5, seed=6, name="Client onboarding 2")
    assert _queries(client, world.carol, query) == few


# --- the journey map links here -----------------------------------------------------------------------

def test_the_journey_map_links_to_its_scores_for_readers(world, worlds, client):
    wa, _ = worlds
    link = f'href="/t/acme/dashboards/journeys/?journey={wa.journey.uuid}"'
    for who in ("alice", "carol", "victor"):
        client.force_login(getattr(world, who))
        assert link in client.get(f"/t/acme/journeys/{wa.journey.uuid}/").content.decode()
    client.force_login(world.bob)  # staff may read the map, not the scores page
    assert link not in client.get(f"/t/acme/journeys/{wa.journey.uuid}/").content.decode()
    client.force_login(world.carol)
    assert client.get(f"/t/acme/dashboards/journeys/?journey={wa.journey.uuid}").context["page"].journey.pk == wa.journey.pk


def test_the_page_figures_are_valid_plotly_figures():
    import json

    import plotly.graph_objects as go

    block = {"value": 12.0, "n": 31, "ci_low": 2.0, "ci_high": 22.0, "low_sample": False}
    low = {"value": 5.0, "n": 2, "ci_low": None, "ci_high": None, "low_sample": True}
    figures = [stage_scores_figure(["1. A", "2. B"], [block, low], metric="ces")]  # the shared builders: tests/test_charts.py
    for figure in figures:
        go.Figure(figure)  # raises on a key plotly does not know
        json.loads(json.dumps(figure, allow_nan=False))


def test_a_hostile_stage_name_is_escaped_in_every_chart_of_the_page(world, client):
    """Issue 15, F7: a stage named like a link is shown as typed, never drawn as plotly's <a href>."""
    wa = build_journey_world(world.a, staff=[world.membership(world.bob, world.a)])
    evil = '<a href="https://evil.example/5">Sign</a>'
    with tenant_context(world.a):
        wa.stages[1].name = evil
        wa.stages[1].save(update_fields=["name"])
    response = page(client, world.carol)
    assert response.status_code == 200
    charts = [chart for chart in response.context["page"].charts if chart.has_data]
    assert charts
    strings = []

    def collect(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    for chart in charts:
        collect(chart.figure)
    assert [s for s in strings if "<a" in s] == []
    assert [s for s in strings if "2. &lt;a href=\"https://evil.example/5\"&gt;Sign&lt;/a&gt;" in s] != []
    links = [attrs["href"] for _, attrs in live_element_with(response.content.decode(), "href")]
    assert [href for href in links if "evil.example" in href] == []
