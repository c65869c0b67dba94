"""The perception gap page (issue 7 page 4): actual vs perceived NPS and the gap per staff member,
touchpoint and stage with intervals. Readers see everyone; a staff member sees only their own pairs —
never another staff member's numbers or name. Another tenant's numbers never appear; the numbers equal
the metrics API's for the same filters; filters change them; refused filters answer 400; CSV per
table; the htmx fragment; an empty state; a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dashboards.pages.perception import verdict
from tests.builders import PROFILE_B, add_journey_responses, build_journey_world, csv_rows
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.postgres

URL = "/t/{slug}/dashboards/perception-gap/"
API = "/api/v1/t/{slug}/metrics/perception-gap/"


@pytest.fixture
def worlds(world):
    """Tenant A: bob over-estimates by 3 on every pair, dana is close; tenant B: its own staff member."""
    wa = build_journey_world(world.a, staff=[world.membership(world.bob, world.a), world.membership(world.dana, world.a)])
    b_staff = MembershipFactory(tenant=world.b, user=UserFactory(email="zed@example.com", full_name="Zed Bworker"))
    wb = build_journey_world(world.b, staff=[b_staff], profile=PROFILE_B, clients=9, seed=2)
    return wa, wb


def page(client, user, query="", slug="acme", **headers):
    client.force_login(user)
    return client.get(URL.format(slug=slug) + query, headers=headers)


def api(client, user, params, slug="acme"):
    client.force_login(user)
    response = client.get(API.format(slug=slug), params)
    assert response.status_code == 200, response.content
    return response.json()


def gap_rows(table):
    """{label: (pairs, gap, ci_low, ci_high, perceived, actual)} of a gap table."""
    return {row[0]: tuple(row[1:7]) for row in table.rows}


def api_rows(rows):
    return {r["label"]: (r["n"], r["value"], r["ci_low"], r["ci_high"], r["perceived_nps"], r["actual_nps"]) for r in rows}


# --- roles ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "carol", "victor"])
def test_readers_see_everyone(who, world, worlds, client):
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    built = response.context["page"]
    assert not built.own
    assert built.pairs == 56
    html = response.content.decode()
    assert "Bob" in html
    assert "Dana" in html
    assert "Gap per staff member" in html
    assert 'name="staff"' in html  # readers may filter by staff member


@pytest.mark.parametrize("who,other", [("bob", "Dana"), ("dana", "Bob")])
def test_staff_see_only_their_own_gap(who, other, world, worlds, client):
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    built = response.context["page"]
    html = response.content.decode()
    assert built.own
    assert built.pairs == 28  # half of the 14 clients × 4 stages
    assert "My perception gap" in html
    assert "Only your own interactions count here." in html
    assert other not in html  # neither the other staff member's name…
    assert "Gap per staff member" not in html
    assert not any(c.id == "gap-staff" for c in built.charts)
    assert 'name="staff"' not in html  # …nor a way to pick them
    for chart in built.charts:  # …nor a row of theirs in any table or CSV
        for row in chart.table.rows:
            assert other not in str(row[0])
    mine = world.membership(getattr(world, who), world.a)
    expected = api(client, world.carol, {**response.context["state"].api_params()})
    assert response.context["state"].api_params()["staff"] == str(mine.uuid)
    assert built.tiles[0].n == expected["overall"]["n"]


def test_staff_cannot_read_another_staff_members_gap_through_the_url(world, worlds, client):
    dana = world.membership(world.dana, world.a)
    response = page(client, world.bob, f"?staff={dana.uuid}")
    assert response.status_code == 200
    assert response.context["state"].filters.staff == world.membership(world.bob, world.a).pk  # forced, the URL is ignored
    assert "Dana" not in response.content.decode()
    for table in response.context["page"].tables:
        got = page(client, world.bob, f"?staff={dana.uuid}&csv={table.id}")
        assert "Dana" not in got.content.decode()
    assert page(client, world.bob, "?csv=gap-staff").status_code == 404


def test_staff_numbers_differ_per_person(world, worlds, client):
    bob = page(client, world.bob).context["page"]
    dana = page(client, world.dana).context["page"]
    assert bob.verdict.startswith("You over-estimate clients' scores by")
    assert "a clear gap" in bob.verdict
    assert dict(bob.tiles[0].table.rows)["Value"] > dict(dana.tiles[0].table.rows)["Value"]
    assert bob.tiles[0].value != dana.tiles[0].value


def test_it_404s_for_other_tenant(world, worlds, client):
    assert page(client, world.charlie).status_code == 404


# --- the numbers ------------------------------------------------------------------------------------

def test_its_numbers_equal_the_metrics_api(world, worlds, client):
    wa, _ = worlds
    for query in ("", f"?touchpoint={wa.touchpoints[1].uuid}", "?channel=web&period=90d"):
        response = page(client, world.carol, query)
        state, built = response.context["state"], response.context["page"]
        expected = api(client, world.carol, state.api_params())
        charts = {c.id: c for c in built.charts}
        assert gap_rows(charts["gap-staff"].table) == api_rows(expected["staff"])
        assert gap_rows(charts["gap-touchpoints"].table) == api_rows(expected["touchpoints"])
        assert gap_rows(charts["gap-stages"].table) == api_rows(expected["stages"])
        tile = built.tiles[0]
        assert tile.n == expected["overall"]["n"]
        assert dict(tile.table.rows)["Value"] == expected["overall"]["value"]
        paired = charts["perceived-vs-actual"].table.rows
        assert paired[0][:4] == ("Everyone", expected["overall"]["n"], expected["overall"]["actual_nps"], expected["overall"]["perceived_nps"])
        assert {r[0]: r[1:4] for r in paired[1:]} == {r["label"]: (r["n"], r["actual_nps"], r["perceived_nps"]) for r in expected["staff"]}
    response = page(client, world.carol)
    tile, html = response.context["page"].tiles[0], response.content.decode()
    assert tile.value in html
    assert f"n = {tile.n}" in html


def test_a_staff_members_numbers_equal_the_api_with_their_filter(world, worlds, client):
    response = page(client, world.bob)
    built = response.context["page"]
    expected = api(client, world.carol, response.context["state"].api_params())
    charts = {c.id: c for c in built.charts}
    assert gap_rows(charts["gap-touchpoints"].table) == api_rows(expected["touchpoints"])
    assert gap_rows(charts["gap-stages"].table) == api_rows(expected["stages"])
    assert charts["perceived-vs-actual"].table.rows[0][0] == "All your interactions"


def test_filters_change_the_numbers(world, worlds, client):
    wa, _ = worlds
    bob = world.membership(world.bob, world.a)
    everyone = page(client, world.carol).context["page"]
    only_bob = page(client, world.carol, f"?staff={bob.uuid}").context["page"]
    one_stage = page(client, world.carol, f"?stage={wa.stages[1].uuid}").context["page"]
    week = page(client, world.carol, "?period=7d").context["page"]
    assert everyone.pairs == 56
    assert only_bob.pairs == 28
    assert one_stage.pairs == 14
    assert week.pairs < 56
    assert {c.id: [r[0] for r in c.table.rows] for c in only_bob.charts}["gap-staff"] == ["Bob"]


# --- tenant isolation -------------------------------------------------------------------------------

def test_another_tenants_numbers_never_appear(world, worlds, client):
    a = page(client, world.carol)
    b = page(client, world.charlie, slug="globex")
    assert a.context["page"].pairs == 56
    assert b.context["page"].pairs == 36
    assert "Zed" not in a.content.decode()
    assert "Bob" not in b.content.decode()
    zed = page(client, world.charlie, slug="globex").context["page"]
    assert [r[0] for r in {c.id: c for c in zed.charts}["gap-staff"].table.rows] == ["Zed Bworker"]
    _, wb = worlds
    response = page(client, world.carol, f"?touchpoint={wb.touchpoints[0].uuid}")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


# --- invalid filters, CSV, htmx ---------------------------------------------------------------------

@pytest.mark.parametrize("query", ["?period=custom&from=2026-13-01&to=2026-12-01", "?from=2026-05-01&to=2026-04-01", "?staff=nope",
                                   "?period=fortnight"])
def test_an_invalid_filter_answers_400_with_the_error_shown(query, world, worlds, client):
    for who in ("carol", "bob"):
        response = page(client, getattr(world, who), query)
        if who == "bob" and query == "?staff=nope":
            assert response.status_code == 200  # staff have no staff field: the parameter is not theirs to give
            continue
        assert response.status_code == 400
        html = response.content.decode()
        assert "Fix the filters above to see the numbers." in html
        assert "field__error" in html


def test_each_table_downloads_as_csv(world, worlds, client):
    built = page(client, world.carol).context["page"]
    ids = [t.id for t in built.tables]
    assert len(ids) == len(set(ids)) == 5
    for table in built.tables:
        got = page(client, world.carol, f"?csv={table.id}")
        assert got.status_code == 200
        assert got["Content-Type"].startswith("text/csv")
        rows = csv_rows(got)
        assert tuple(rows[0]) == table.columns
        assert len(rows) == len(table.rows) + 1
    staff_csv = csv_rows(page(client, world.carol, "?csv=gap-staff"))
    assert sorted(row[0] for row in staff_csv[1:]) == ["Bob", "Dana"]
    assert page(client, world.carol, "?csv=nope").status_code == 404


def test_an_htmx_request_gets_only_the_dashboard_fragment(world, worlds, client):
    response = page(client, world.bob, "?period=90d", HX_Request="true")
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<div id="dashboard"')
    assert "<html" not in html
    assert "My perception gap" in html


# --- empty states -----------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["carol", "bob"])
def test_an_empty_workspace_says_how_pairs_appear(who, world, client):
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    built = response.context["page"]
    assert built.pairs == 0
    assert built.verdict == ""
    assert all(c.empty for c in built.charts)
    html = response.content.decode()
    assert "No prediction pairs yet." in html
    assert built.tiles[0].value == "—"
    if who == "bob":
        assert "/interactions/log/" in html or "Log an interaction" in html


def test_the_verdict_says_when_the_gap_is_not_clear():
    assert verdict({"n": 0, "value": None}, own=False) == ""
    unclear = verdict({"n": 12, "value": 0.8, "ci_low": -0.4, "ci_high": 2.0}, own=False)
    assert unclear.startswith("Staff over-estimate clients' scores by 0.8 points on average (12 pairs)")
    assert "no clear gap" in unclear
    under = verdict({"n": 40, "value": -1.5, "ci_low": -2.1, "ci_high": -0.9}, own=True)
    assert under.startswith("You under-estimate")
    assert "a clear gap" in under
    assert "too few pairs" in verdict({"n": 1, "value": 2.0, "ci_low": None, "ci_high": None}, own=True)


# --- queries ----------------------------------------------------------------------------------------

def _queries(client, user, query=""):
    client.force_login(user)
    path = URL.format(slug="acme") + query
    client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who,query", [("carol", ""), ("carol", "?channel=web&segment={segment}"), ("bob", ""),
                                       ("bob", "?stage={stage}")])
def test_the_number_of_queries_is_fixed(who, query, world, client):
    wa = build_journey_world(world.a, staff=[world.membership(world.bob, world.a)], clients=2)
    query = query.format(segment=wa.segment.uuid, stage=wa.stages[0].uuid)
    few = _queries(client, getattr(world, who), query)
    wa.staff.append(world.membership(world.dana, world.a))
    for _ in range(3):
        wa.staff.append(MembershipFactory(tenant=world.a))
    add_journey_responses(wa, clients=30, seed=5)
    build_journey_world(world.a, staff=wa.staff, clients=6, seed=6, name="Second journey")
    assert _queries(client, getattr(world, who), query) == few
