"""The recovery page (issue 8 item 3): recovery rate, score change, cases resolved and recovery surveys
answered, the recovery rate per root cause and per staff member with intervals. Readers see every case;
a staff member only the cases assigned to them (never another staff member's name or number). The
page's numbers are the selector's; filters change them; refused filters answer 400; CSV per table; the
htmx fragment; an empty state; a fixed number of queries; another tenant's cases never appear."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.feedback.recovery.selectors import recovery_report
from apps.tenancy.context import tenant_context
from tests import factories as fx
from tests.builders import (
    Planter,
    csv_rows,
    planted,  # noqa: F401 - fixtures
)

pytestmark = pytest.mark.postgres

URL = "/t/{slug}/dashboards/recovery/"


def page(client, user, query="", slug="acme", **headers):
    client.force_login(user)
    return client.get(URL.format(slug=slug) + query, headers=headers)


def rows(table):
    return {row[0]: tuple(row[1:]) for row in table.rows}


def selector_rows(report_rows):
    return {r["label"]: (r["n"], r["recovered"], r["rate"], r["low"], r["high"], r["change"]["mean"], r["change"]["low"],
                         r["change"]["high"], bool(r["low_sample"])) for r in report_rows}


# --- roles ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "carol", "victor"])
def test_it_shows_readers_every_case(who, world, planted, client):  # noqa: F811
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    built = response.context["page"]
    assert not built.own
    assert built.counted == 5
    html = response.content.decode()
    assert "Recovery per staff member" in html
    assert "Bob" in html
    assert "Dana" in html
    assert 'name="staff"' in html
    assert 'aria-current="page"' in html
    assert ">Recovery</a>" in html  # the tab


@pytest.mark.parametrize("who,mine,other", [("bob", 2, "Dana"), ("dana", 2, "Bob")])
def test_it_shows_staff_only_their_own_cases(who, mine, other, world, planted, client):  # noqa: F811
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    built, html = response.context["page"], response.content.decode()
    assert built.own
    assert built.counted == mine
    assert "My recovery" in html
    assert "Only the cases assigned to you count here." in html
    assert other not in html
    assert "Recovery per staff member" not in html
    assert 'name="staff"' not in html
    assert page(client, getattr(world, who), "?csv=recovery-staff").status_code == 404
    member = world.membership(getattr(world, who), world.a)
    assert response.context["state"].filters.staff == member.pk


def test_it_ignores_a_staff_filter_typed_by_staff(world, planted, client):  # noqa: F811
    response = page(client, world.bob, f"?staff={planted['dana'].uuid}")
    assert response.status_code == 200
    assert response.context["state"].filters.staff == planted["bob"].pk
    assert response.context["page"].counted == 2
    for table in response.context["page"].tables:
        assert "Dana" not in page(client, world.bob, f"?staff={planted['dana'].uuid}&csv={table.id}").content.decode()


def test_it_404s_for_another_tenant(world, planted, client):  # noqa: F811
    assert page(client, world.charlie).status_code == 404


# --- the numbers ------------------------------------------------------------------------------------

def _report(world, state):
    with tenant_context(world.a):
        return recovery_report(world.a, state.filters)


def test_its_numbers_equal_the_selectors(world, planted, client):  # noqa: F811
    for query in ("", f"?touchpoint={planted['t1'].uuid}", "?period=90d", "?channel=web"):
        response = page(client, world.carol, query)
        state, built = response.context["state"], response.context["page"]
        expected = _report(world, state)
        charts = {c.id: c for c in built.charts}
        assert rows(charts["recovery-root-causes"].table) == selector_rows(expected.root_causes)
        assert rows(charts["recovery-staff"].table) == selector_rows(expected.staff)
        tiles = {t.id: t for t in built.tiles}
        o = expected.overall
        assert dict(tiles["recovery-rate"].table.rows)["Recovery rate %"] == o["rate"]
        assert tiles["recovery-rate"].n == o["n"]
        assert dict(tiles["score-change"].table.rows)["Mean change (points)"] == o["change"]["mean"]
        assert dict(tiles["cases-resolved"].table.rows)["Cases resolved"] == expected.resolved
        assert dict(tiles["recovery-answered"].table.rows)["Answered"] == expected.answered
    response = page(client, world.carol)
    tiles, html = {t.id: t for t in response.context["page"].tiles}, response.content.decode()
    assert tiles["recovery-rate"].value == "60%"
    assert "60%" in html
    assert "n = 5" in html
    assert tiles["score-change"].value == "+3.6 pts"
    assert "+3.6 pts" in html
    assert tiles["recovery-rate"].low_sample
    assert "Low sample." in html  # 5 < 10 cases


def test_its_filters_change_the_numbers(world, planted, client):  # noqa: F811
    assert page(client, world.carol, f"?touchpoint={planted['t1'].uuid}").context["page"].counted == 2
    assert page(client, world.carol, f"?staff={planted['dana'].uuid}").context["page"].counted == 2
    assert page(client, world.carol, "?period=90d").context["page"].counted == 6


def test_another_tenants_cases_never_appear(world, planted, client):  # noqa: F811
    a = page(client, world.carol)
    assert a.context["page"].counted == 5
    assert "Charlie" not in a.content.decode()
    b = page(client, world.charlie, slug="globex")
    assert b.context["page"].counted == 3
    assert "Bob" not in b.content.decode()
    with tenant_context(world.b):
        foreign = fx.TouchpointFactory(tenant=world.b)
    assert page(client, world.carol, f"?touchpoint={foreign.uuid}").status_code == 400


# --- invalid filters, CSV, htmx, empty --------------------------------------------------------------

@pytest.mark.parametrize("query", ["?from=2026-05-01&to=2026-04-01", "?staff=nope", "?period=fortnight"])
def test_an_invalid_filter_answers_400_with_the_error_shown(query, world, planted, client):  # noqa: F811
    response = page(client, world.carol, query)
    assert response.status_code == 400
    assert "Fix the filters above to see the numbers." in response.content.decode()


def test_each_table_downloads_as_csv(world, planted, client):  # noqa: F811
    built = page(client, world.carol).context["page"]
    ids = [t.id for t in built.tables]
    assert len(ids) == len(set(ids)) == 6  # four tiles, two charts
    for table in built.tables:
        got = page(client, world.carol, f"?csv={table.id}")
        assert got.status_code == 200
        assert got["Content-Type"].startswith("text/csv")
        got_rows = csv_rows(got)
        assert tuple(got_rows[0]) == table.columns
        assert len(got_rows) == len(table.rows) + 1
    assert sorted(r[0] for r in csv_rows(page(client, world.carol, "?csv=recovery-staff"))[1:]) == ["Bob", "Dana", "Unassigned"]
    assert page(client, world.carol, "?csv=nope").status_code == 404


def test_an_htmx_request_gets_only_the_dashboard_fragment(world, planted, client):  # noqa: F811
    response = page(client, world.carol, "?period=90d", HX_Request="true")
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<div id="dashboard"')
    assert "<html" not in html


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_an_empty_workspace_says_how_recovery_appears(who, world, client):
    response = page(client, getattr(world, who))
    assert response.status_code == 200
    built, html = response.context["page"], response.content.decode()
    assert not built.has_data
    assert all(c.empty for c in built.charts)
    assert "No recovery measured yet." in html
    tiles = {t.id: t for t in built.tiles}
    assert tiles["recovery-rate"].value == "—"
    assert not tiles["recovery-rate"].low_sample


# --- queries ----------------------------------------------------------------------------------------

def _queries(client, user, query=""):
    client.force_login(user)
    path = URL.format(slug="acme") + query
    client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_the_number_of_queries_is_fixed(who, world, client):
    p = Planter(world.a)
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        cause = fx.RootCauseFactory(tenant=world.a)
    p.case("nps", 2, 8, root_cause=cause, assignee=bob)
    few = _queries(client, getattr(world, who))
    with tenant_context(world.a):
        causes = [fx.RootCauseFactory(tenant=world.a) for _ in range(3)]
        staff = [bob] + [fx.MembershipFactory(tenant=world.a) for _ in range(3)]
    for i in range(10):
        p.case("csat", 1 + i % 2, 1 + i % 5, root_cause=causes[i % 3], assignee=staff[i % 4])
    assert _queries(client, getattr(world, who)) == few


# --- from a number to its cases (issue 19 item 1) ---------------------------------------------------

def _listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:400])
    assert "as the recovery page counts them" in response.content.decode()
    return response.context["page"].paginator.count


def _every_link(built):
    """(address, the number it stands for) for every link of the page: tiles' n, their tables' rows, chart rows."""
    for tile in built.tiles:
        if tile.drill:
            yield tile.drill, tile.n
        for row, link in zip(tile.table.rows, tile.table.links, strict=False):  # the readings that count cases
            if link:
                yield link, row[1]
    for chart in built.charts:
        assert chart.links == chart.table.links
        for row, link in zip(chart.table.rows, chart.table.links, strict=True):
            if link:
                yield link, row[1]


@pytest.mark.parametrize("who,query", [("carol", ""), ("carol", "?period=90d"), ("carol", "?channel=web"),
                                       ("carol", "touchpoint"), ("victor", ""), ("bob", ""), ("dana", "?period=90d")])
def test_every_number_opens_exactly_the_cases_it_counts(who, query, world, planted, client):  # noqa: F811
    if query == "touchpoint":
        query = f"?touchpoint={planted['t1'].uuid}"
    response = page(client, getattr(world, who), query)
    built = response.context["page"]
    links = list(_every_link(built))
    assert len(links) >= 6
    kinds = {link.split("recovery=")[1].split("&")[0] for link, _ in links}
    assert kinds >= {"counted", "resolved", "answered"}
    for link, n in links:
        assert _listed(client, link) == n, link
    html = response.content.decode()
    assert "cases behind this number" in html  # the tile's n is a link, named for a screen reader


def test_the_rows_without_a_root_cause_or_an_assignee_open_their_cases(world, planted, client):  # noqa: F811
    built = page(client, world.carol).context["page"]
    charts = {c.id: c for c in built.charts}
    staff = dict(zip((r[0] for r in charts["recovery-staff"].table.rows), charts["recovery-staff"].table.links, strict=True))
    assert "unassigned=on" in staff["Unassigned"]
    assert _listed(client, staff["Unassigned"]) == 1


def test_a_bad_recovery_address_is_explained_not_a_500(world, planted, client):  # noqa: F811
    client.force_login(world.carol)
    with tenant_context(world.b):
        foreign = fx.TouchpointFactory(tenant=world.b)
    for query, words in (({"recovery": "bogus", "from": "2026-01-01", "to": "2026-02-01"}, "`recovery` must be one of"),
                         ({"recovery": "counted", "to": "2026-02-01"}, "need its period"),
                         ({"recovery": "counted", "from": "2026-03-01", "to": "2026-02-01"}, "is after"),
                         ({"recovery": "counted", "from": "2026-01-01", "to": "2026-02-01", "metric": "x"}, "`metric` must be"),
                         ({"recovery": "counted", "from": "2026-01-01", "to": "2026-02-01", "touchpoint": str(foreign.uuid)},
                          "No touchpoint with this id")):
        response = client.get("/t/acme/cases/", query)
        assert response.status_code == 400, query
        assert words in response.content.decode()
        assert response.context["page"] is None
