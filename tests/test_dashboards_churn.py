"""The churn and retention dashboard (issue 7 page 3): readers only; its numbers are the metrics API's
(/metrics/churn/ and /metrics/churn-risk/) for the same filters; the segment, the period and the
interval change them; refused input answers 400 with the error shown; each table is a CSV; htmx gets
the fragment; an empty workspace gets a helpful page; another tenant's clients never count; the number
of queries does not grow with clients."""

from __future__ import annotations

import csv
import io
import os
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.dates import local_today
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.models import ChurnModel
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import make_book
from tests.shared_db import built_once, world_build

pytestmark = pytest.mark.postgres

URL = "/t/acme/dashboards/churn/"
API = "/api/v1/t/acme/metrics/"
TABLE_IDS = ("tile-churn", "tile-retention", "tile-revenue-churn", "tile-at-risk", "tile-tenure", "churn-periods",
             "retention-periods", "revenue-periods", "tenure-curve", "cohorts", "at-risk")


def page_of(client, user, query=None, **headers):
    client.force_login(user)
    response = client.get(URL, query or {}, headers=headers)
    return response


def api(api_client, user, endpoint, params):
    api_client.force_login(user)
    response = api_client.get(f"{API}{endpoint}/", params)
    assert response.status_code == 200, response.content[:400]
    return response.json()


def table(page, table_id):
    return {t.id: t for t in page.tables}[table_id]


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- roles and tenants ---------------------------------------------------------------------------

# --- the numbers are the API's -------------------------------------------------------------------

# --- filters -------------------------------------------------------------------------------------

# --- CSV, htmx, empty --------------------------------------------------------------------------------

def test_an_empty_workspace_gets_a_helpful_page(world, client):
    client.force_login(world.carl)
    response = client.get("/t/initech/dashboards/churn/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No clients yet" in html
    assert "/t/initech/clients/" in html
    assert "No churn-risk scores yet" in html
    page = response.context["page"]
    assert all(tile.value == "—" for tile in page.tiles)
    for table_id in TABLE_IDS:
        assert client.get("/t/initech/dashboards/churn/", {"csv": table_id}).status_code == 200


def test_no_churn_yet_is_said_in_words(world, client):
    with tenant_context(world.a):
        for _ in range(3):
            f.ClientFactory(tenant=world.a, active_from=local_today(world.a.time_zone) - timedelta(days=400))
    html = page_of(client, world.carol).content.decode()
    assert "No client has churned yet" in html
    assert "Not reached" in html


# --- queries ---------------------------------------------------------------------------------------

def test_the_number_of_queries_does_not_grow_with_clients(world, client):
    rng = random.Random(3)
    with tenant_context(world.a):
        gold = f.SegmentFactory(tenant=world.a)
    bob = world.membership(world.bob, world.a)
    query = {"period": "ytd", "segment": str(gold.uuid), "interval": "month"}

    def measure():
        with tenant_context(world.a):
            churn_risk_refresh(world.a)
        client.force_login(world.carol)
        client.get(URL, query)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL, query).status_code == 200
        return len(ctx.captured_queries)

    make_book(world.a, rng, 5, segments=(gold,), owners=(bob,))
    few = measure()
    make_book(world.a, rng, 80, segments=(gold,), owners=(bob,), name_prefix="More")
    many = measure()
    assert few == many


# --- any stored date (issue 15, F3) -----------------------------------------------------------------


class TestOnABooksBuiltOnce:
    """The tests of the books world: built once for the class, each test in its own savepoint (what a test writes
    is undone after it), the whole world rolled back after the class (tests/shared_db.py)."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, django_db_setup, django_db_blocker):
        with built_once(django_db_blocker):
            shared = world_build()
            rng = random.Random(7)
            with tenant_context(shared.a):
                gold = f.SegmentFactory(tenant=shared.a, name="Gold")
                silver = f.SegmentFactory(tenant=shared.a, name="Silver")
            with tenant_context(shared.b):
                foreign = f.SegmentFactory(tenant=shared.b, name="Gold")
            bob = shared.membership(shared.bob, shared.a)
            a = make_book(shared.a, rng, 60, segments=(gold, silver), owners=(bob,))
            make_book(shared.b, rng, 40, segments=(foreign,), name_prefix="Globex account")
            for tenant in (shared.a, shared.b):
                with tenant_context(tenant):
                    churn_risk_refresh(tenant)
            yield shared, {"gold": gold, "silver": silver, "foreign": foreign, "clients": a}

    @pytest.fixture
    def world(self, built, db):
        return built[0]

    @pytest.fixture
    def books(self, built, db):
        return built[1]

    @pytest.mark.parametrize("who", ["alice", "carol", "victor"])
    def test_it_renders_for_every_reader(self, world, books, client, who):
        response = page_of(client, getattr(world, who))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Churn and retention" in html
        assert 'id="dashboard"' in html
        for tile in ("churn", "retention", "revenue-churn", "at-risk", "tenure"):
            assert f'data-tile="{tile}"' in html
        for chart in ("churn-rate", "retention-rate", "revenue-churn", "tenure"):
            assert f'data-chart="chart-{chart}-data"' in html
        assert "How is this computed?" in html


    @pytest.mark.parametrize("who", ["bob", "dana"])
    def test_it_requires_a_reader_role(self, world, books, client, who):
        assert page_of(client, getattr(world, who)).status_code == 403


    def test_it_404s_for_a_non_member(self, world, books, client):
        assert page_of(client, world.charlie).status_code == 404


    def test_it_never_counts_or_shows_another_tenants_clients(self, world, books, client, api_client):
        response = page_of(client, world.carol, {"period": "ytd"})
        page = response.context["page"]
        html = response.content.decode()
        assert "Globex account" not in html
        with tenant_context(world.a):
            from apps.clients.models import Client
            a_clients = Client.objects.exclude(status="prospect").count()
        tenure = dict(table(page, "tile-tenure").rows)
        assert tenure["Clients"] <= a_clients  # every client counted is one of A's
        names = {row[0] for row in table(page, "at-risk").rows}
        assert names
        assert all(name.startswith("Client ") for name in names)
        # B's page lists B's clients only.
        client.force_login(world.charlie)
        b = client.get("/t/globex/dashboards/churn/", {"period": "ytd"})
        assert b.status_code == 200
        b_names = {row[0] for row in table(b.context["page"], "at-risk").rows}
        assert b_names
        assert all(name.startswith("Globex account") for name in b_names)


    @pytest.mark.parametrize("query", [
        {},
        {"period": "90d", "interval": "month"},
        {"period": "ytd", "interval": "quarter"},
        {"period": "custom", "from": "2024-01-01", "to": "2025-12-31", "interval": "quarter", "segment": "gold"},
        {"period": "custom", "from": "2023-06-01", "to": "2026-05-31", "interval": "year", "segment": "silver"},
    ])
    def test_its_numbers_equal_the_metrics_api_for_the_same_filters(self, world, books, client, api_client, query):
        query = {k: str(books[v].uuid) if k == "segment" else v for k, v in query.items()}
        response = page_of(client, world.victor, query)
        assert response.status_code == 200
        state, page = response.context["state"], response.context["page"]
        body = api(api_client, world.victor, "churn", {**state.api_params(), "interval": page.interval})
        assert body["interval"] == page.interval

        periods = body["periods"]
        assert [row[1:] for row in table(page, "churn-periods").rows] == [
            (p["start"], p["end"], p["at_start"], p["lost"], p["churn"]["value"], p["churn"]["ci_low"], p["churn"]["ci_high"]) for p in periods]
        assert [row[1:] for row in table(page, "retention-periods").rows] == [
            (p["at_start"], p["new"], p["at_end"], p["retention"]["k"], p["retention"]["value"], p["retention"]["ci_low"],
             p["retention"]["ci_high"]) for p in periods]
        assert [row[1:] for row in table(page, "revenue-periods").rows] == [
            (p["revenue_churn"]["start_value"], p["revenue_churn"]["lost_value"], p["revenue_churn"]["value"],
             p["revenue_churn"]["clients_without_value"]) for p in periods]
        assert [list(row) for row in table(page, "tenure-curve").rows] == [
            [p["days"], p["at_risk"], p["events"], p["survival"], p["ci_low"], p["ci_high"]] for p in body["tenure"]["curve"]]
        cohorts = [[c["cohort"], c["start"], c["size"], *[v for m in c["active_after"] for v in (m["value"], m["n"], m["ci_low"], m["ci_high"])]]
                   for c in body["cohorts"]]
        assert [list(row) for row in table(page, "cohorts").rows] == cohorts

        total = body["total"]
        churn_tile = dict(table(page, "tile-churn").rows)
        assert (churn_tile["Rate (%)"], churn_tile["Clients at the start (n)"], churn_tile["95% CI low"], churn_tile["95% CI high"]) == (
            total["churn"]["value"], total["churn"]["n"], total["churn"]["ci_low"], total["churn"]["ci_high"])
        assert dict(table(page, "tile-retention").rows)["Rate (%)"] == total["retention"]["value"]
        assert dict(table(page, "tile-revenue-churn").rows)["Revenue churn (%)"] == total["revenue_churn"]["value"]
        assert dict(table(page, "tile-tenure").rows)["Median tenure (days)"] == body["tenure"]["median_days"]

        risk_params = {"page_size": 200, **({"segment": query["segment"]} if "segment" in query else {})}
        risk = api(api_client, world.victor, "churn-risk", risk_params)
        assert [(r[0], r[3], r[4]) for r in table(page, "at-risk").rows] == [
            (r["client_name"], r["score"], r["band"].title()) for r in risk["results"][:25]]
        assert [row.reasons for row in page.at_risk] == [tuple(x["text"] for x in r["reasons"]) for r in risk["results"][:25]]
        assert sum(k for _, k in table(page, "tile-at-risk").rows) == risk["count"]
        assert dict(table(page, "tile-at-risk").rows)["High"] == sum(r["band"] == "high" for r in risk["results"])


    def test_it_says_which_churn_model_scored_the_clients(self, world, books, client):
        with tenant_context(world.a):
            model = ChurnModel.objects.filter(is_current=True).get()
        html = page_of(client, world.carol).content.decode()
        assert "Documented rules" in html
        assert f"{model.n_churned} churned" in html
        with tenant_context(world.a):
            ChurnModel.objects.update(is_current=False)
            f_model = ChurnModel.objects.create(tenant=world.a, fitted_at=model.fitted_at, method="model", n_churned=45, n_retained=80,
                                                auc=0.834, n_test=38, is_current=True)
        html = page_of(client, world.carol).content.decode()
        assert "Logistic regression" in html
        assert "held-out AUC 0.83 on 38 clients" in html
        assert f_model.n_churned == 45


    def test_each_at_risk_client_links_to_its_page_with_its_reasons(self, world, books, client):
        response = page_of(client, world.carol)
        page, html = response.context["page"], response.content.decode()
        assert page.at_risk
        first = page.at_risk[0]
        assert f'href="/t/acme/clients/{first.uuid}/"' in html
        assert first.reasons
        assert all(reason in html for reason in first.reasons)
        assert [row.score for row in page.at_risk] == sorted((row.score for row in page.at_risk), reverse=True)


    def test_the_segment_the_period_and_the_interval_change_the_numbers(self, world, books, client):
        everyone = page_of(client, world.carol, {"period": "ytd"}).context["page"]
        gold = page_of(client, world.carol, {"period": "ytd", "segment": str(books["gold"].uuid)}).context["page"]
        assert dict(table(everyone, "tile-churn").rows) != dict(table(gold, "tile-churn").rows)
        gold_names = {c.name for c in books["clients"] if c.segment_id == books["gold"].pk}
        assert {r[0] for r in table(gold, "at-risk").rows} <= gold_names
        assert {r[0] for r in table(everyone, "at-risk").rows} - gold_names
        longer = page_of(client, world.carol, {"period": "custom", "from": "2024-01-01", "to": local_today("Europe/Brussels").isoformat()})
        assert dict(table(longer.context["page"], "tile-churn").rows) != dict(table(everyone, "tile-churn").rows)
        quarterly = page_of(client, world.carol, {"period": "ytd", "interval": "quarter"}).context["page"]
        monthly = page_of(client, world.carol, {"period": "ytd", "interval": "month"}).context["page"]
        assert quarterly.interval == "quarter"
        assert monthly.interval == "month"
        assert len(table(quarterly, "churn-periods").rows) <= len(table(monthly, "churn-periods").rows)
        assert "interval=quarter" in quarterly.query


    def test_the_default_interval_follows_the_length_of_the_range(self, world, books, client):
        assert page_of(client, world.carol).context["page"].interval == "week"  # last 30 days
        assert page_of(client, world.carol, {"period": "ytd"}).context["page"].interval in ("week", "month")
        long = page_of(client, world.carol, {"period": "custom", "from": "2022-01-01", "to": "2025-12-31"}).context["page"]
        assert long.interval == "quarter"
        assert long.interval_auto


    @pytest.mark.parametrize("query,message", [
        ({"period": "custom", "from": "2026-13-01", "to": "2026-12-31"}, "Enter a valid date"),
        ({"period": "custom", "from": "2026-03-01"}, "A custom range needs both"),
        ({"period": "custom", "from": "2026-03-01", "to": "2026-01-01"}, "after"),
        ({"segment": "foreign"}, "Select a valid choice"),
        ({"segment": "not-a-uuid"}, "is not a valid UUID"),
        ({"interval": "fortnight"}, "Rates per: choose week, month, quarter or year."),
        ({"period": "decade"}, "Select a valid choice"),
    ])
    def test_refused_filters_answer_400_with_the_error_shown(self, world, books, client, query, message):
        query = {k: str(books["foreign"].uuid) if v == "foreign" else v for k, v in query.items()}
        response = page_of(client, world.carol, query)
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html
        assert "Fix the filters above" in html
        csv_response = page_of(client, world.carol, {**query, "csv": "churn-periods"})
        assert csv_response.status_code == 400
        assert not csv_response["Content-Type"].startswith("text/csv")


    def test_each_table_downloads_as_csv_with_the_pages_filters(self, world, books, client):
        query = {"period": "ytd", "interval": "month", "segment": str(books["gold"].uuid)}
        page = page_of(client, world.carol, query).context["page"]
        assert {t.id for t in page.tables} == set(TABLE_IDS)
        html = page_of(client, world.carol, query).content.decode()
        for table_id in TABLE_IDS:
            assert f"csv={table_id}" in html
            response = page_of(client, world.carol, {**query, "csv": table_id})
            assert response.status_code == 200
            assert "attachment" in response["Content-Disposition"]
            assert f"churn_{table_id}" in response["Content-Disposition"]
            rows = csv_rows(response)
            expected = table(page, table_id)
            assert rows[0] == list(expected.columns)
            assert len(rows) == len(expected.rows) + 1
        assert page_of(client, world.carol, {**query, "csv": "nope"}).status_code == 404
        # The CSV links carry the interval with the filters.
        assert "interval=month" in html.split("csv=churn-periods")[0].rsplit("href=", 1)[1]


    def test_an_htmx_request_gets_only_the_dashboard_fragment(self, world, books, client):
        response = page_of(client, world.carol, {"period": "90d"}, HX_Request="true")
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="dashboard"')
        assert "<html" not in html
        assert "site-header" not in html
        assert 'data-tile="churn"' in html
        refused = page_of(client, world.carol, {"interval": "fortnight"}, HX_Request="true")
        assert refused.status_code == 400
        assert refused.content.decode().lstrip().startswith('<div id="dashboard"')


    @pytest.mark.parametrize("active_from, churned_on", [
        ("1024-01-01", None),  # the probe's typo: the churn API, this page and the executive page answered 500
        ("0001-01-01", "0001-01-02"),  # the first days a date can hold
        ("today", "9999-12-31"),  # the last
        ("9999-12-30", None),
    ], ids=["year-1024", "year-1", "churn-in-9999", "active-from-9999"])
    def test_it_tolerates_any_client_date_already_stored(self, world, books, client, api_client, active_from, churned_on):
        """Rows written before dates were checked at the edge (or straight into the database) never turn
        the churn API, the churn page, the executive page or its PDF into a 500."""
        from datetime import date

        from apps.clients.models import Client
        from apps.reports import pdf as pdf_module

        today = local_today(world.a.time_zone)
        with tenant_context(world.a):
            odd = books["clients"][0]
            Client.objects.filter(pk=odd.pk).update(  # the ORM's update(): no validation, as an old row would be
                active_from=today if active_from == "today" else date.fromisoformat(active_from),
                churned_on=churned_on and date.fromisoformat(churned_on), status="churned" if churned_on else "active")
            churn_risk_refresh(world.a)
        api_client.force_login(world.victor)
        for params in ({}, {"from": "1900-01-01", "to": "1904-12-31", "interval": "year"}, {"interval": "day"}):
            response = api_client.get(f"{API}churn/", params)
            assert response.status_code == 200, (params, response.content[:300])
        assert api_client.get(f"{API}churn-risk/").status_code == 200
        client.force_login(world.victor)
        for url, params in ((URL, {}), (URL, {"period": "ytd", "interval": "week"}), ("/t/acme/dashboards/executive/", {}),
                            ("/t/acme/dashboards/", {})):
            response = client.get(url, params)
            assert response.status_code in (200, 302), (url, params, response.status_code)
        for table_id in ("tenure-curve", "cohorts"):
            assert client.get(URL, {"csv": table_id}).status_code == 200, table_id
        if os.access(pdf_module.chromium_path(), os.X_OK):
            response = client.get("/t/acme/dashboards/executive.pdf")
            assert response.status_code == 200, response.content[:300]
            assert response.content.startswith(b"%PDF-"), response.content[:300]

