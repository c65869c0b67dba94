"""The staff home (issue 7 page 5): staff and up, each reading only their own — follow-ups, clients
and perception gap; another staff member's clients, follow-ups and numbers never appear, whatever the
URL says. The latest scores are each client's latest counted answers; the perception gap equals the
metrics API with the staff filter on the member; the period changes it; refused input answers 400
with the rest of the page intact; each table is a CSV; htmx gets the gap section; the log form and the
follow-up buttons bring the member back home; an empty home says what to do; the number of queries
does not grow with rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.dates import local_today
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.rollups import rollups_rebuild
from apps.tenancy.context import tenant_context
from apps.touchpoints.models import Interaction
from tests import factories as f
from tests.shared_db import built_once, world_build

pytestmark = pytest.mark.postgres

URL = "/t/acme/home/"
API = "/api/v1/t/acme/metrics/"
TABLE_IDS = ("my-follow-ups", "my-clients", "tile-my-gap", "my-gap-touchpoints")


def days_ago(tenant, n, hour=11):
    day = local_today(tenant.time_zone) - timedelta(days=n)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def home(client, user, query=None, path=URL, **headers):
    client.force_login(user)
    return client.get(path, query or {}, headers=headers)


def table(page, table_id):
    return {t.id: t for t in page.tables}[table_id]


# --- roles ---------------------------------------------------------------------------------------

# --- only my own ---------------------------------------------------------------------------------

# --- my clients' latest scores -------------------------------------------------------------------

def test_the_client_list_is_cut_with_a_link_to_all_my_clients(world, client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        for n in range(53):
            f.ClientFactory(tenant=world.a, name=f"Account {n:02d}", owner=bob)
    response = home(client, world.bob)
    page = response.context["page"]
    assert len(page.clients) == 50
    assert page.clients_total == 53
    assert page.clients_more == 3
    assert f"/t/acme/clients/?owner={bob.uuid}" in response.content.decode()


# --- perception gap -------------------------------------------------------------------------------

# --- CSV, htmx, empty -----------------------------------------------------------------------------

def test_an_empty_home_says_what_to_do(world, client):
    with tenant_context(world.c):
        from tests.factories import MembershipFactory, UserFactory
        newbie = UserFactory(email="newbie@example.com", full_name="Newbie")
        MembershipFactory(tenant=world.c, user=newbie, role="staff")
    response = home(client, newbie, path="/t/initech/home/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No open follow-ups" in html
    assert "You own no active client yet" in html
    assert "No pairs yet" in html
    assert 'data-tile="perception_gap"' not in html
    assert response.context["page"].gap_tile.value == "—"
    for table_id in TABLE_IDS:
        assert client.get("/t/initech/home/", {"csv": table_id}).status_code == 200


# --- the log form and the follow-ups bring me home ------------------------------------------------

# --- queries ---------------------------------------------------------------------------------------

class TestOnADeskBuiltOnce:
    """The tests of the desk world: built once for the class, each test in its own savepoint (what a test writes
    is undone after it), the whole world rolled back after the class (tests/shared_db.py)."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, django_db_setup, django_db_blocker):
        with built_once(django_db_blocker):
            shared = world_build()
            a = shared.a
            bob, dana = shared.membership(shared.bob, a), shared.membership(shared.dana, a)
            today = local_today(a.time_zone)
            with tenant_context(a):
                version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=a, kind="custom"))
                desk_tp = f.TouchpointFactory(tenant=a, name="Help desk")
                visit = f.TouchpointFactory(tenant=a, name="Site visit")
                clinics = f.SegmentFactory(tenant=a, name="Clinics")
                cedar = f.ClientFactory(tenant=a, name="Cedar Dental", owner=bob, segment=clinics, active_from=today - timedelta(days=700))
                birch = f.ClientFactory(tenant=a, name="Birch Law", owner=bob, active_from=today - timedelta(days=100))
                f.ClientFactory(tenant=a, name="Gone Bakery", owner=bob, status="churned", active_from=today - timedelta(days=900),
                                churned_on=today - timedelta(days=30))
                oak = f.ClientFactory(tenant=a, name="Oak Dana Holdings", owner=dana, active_from=today - timedelta(days=300))
                # Cedar's answers: NPS 9 then 4 (latest), CSAT 5, a later bot NPS 0 that never counts; no CES.
                f.ResponseFactory(version=version, client=cedar, nps=9, submitted_at=days_ago(a, 40))
                f.ResponseFactory(version=version, client=cedar, nps=4, csat=None, submitted_at=days_ago(a, 5))
                f.ResponseFactory(version=version, client=cedar, nps=None, csat=5, submitted_at=days_ago(a, 12))
                f.ResponseFactory(version=version, client=cedar, nps=0, submitted_at=days_ago(a, 1), is_bot=True)
                f.ResponseFactory(version=version, client=oak, nps=2, ces=3, submitted_at=days_ago(a, 3))
                # Perception-gap pairs: Bob over-estimates at the help desk, Dana under-estimates.
                for n, (predicted, actual, tp) in enumerate([(9, 6, desk_tp), (10, 7, desk_tp), (8, 8, visit), (9, 5, desk_tp), (7, 7, visit)]):
                    f.ResponseFactory(version=version, staff=bob, touchpoint=tp, client=cedar, predicted=predicted, nps=actual,
                                      submitted_at=days_ago(a, 3 + n * 4))
                f.ResponseFactory(version=version, staff=bob, touchpoint=desk_tp, predicted=10, nps=0, submitted_at=days_ago(a, 60))  # not in 30d
                for predicted, actual in [(3, 9), (4, 10), (5, 9)]:
                    f.ResponseFactory(version=version, staff=dana, touchpoint=visit, client=oak, predicted=predicted, nps=actual,
                                      submitted_at=days_ago(a, 6))
                # Follow-ups: Bob's overdue, today, upcoming and a closed one; Dana's own.
                f.InteractionFactory(staff=bob, client=cedar, touchpoint=desk_tp, summary="Send the revised quote", follow_up=True,
                                     follow_up_due=today - timedelta(days=2))
                f.InteractionFactory(staff=bob, client=birch, touchpoint=visit, summary="Call about the invoice", follow_up=True,
                                     follow_up_due=today)
                f.InteractionFactory(staff=bob, client=birch, touchpoint=visit, summary="Check in after onboarding", follow_up=True,
                                     follow_up_due=today + timedelta(days=5))
                f.InteractionFactory(staff=bob, client=cedar, touchpoint=visit, summary="Closed already", follow_up=True,
                                     follow_up_due=today, follow_up_done_at=timezone.now())
                f.InteractionFactory(staff=dana, client=oak, touchpoint=visit, summary="Dana's secret follow-up", follow_up=True,
                                     follow_up_due=today)
                churn_risk_refresh(a)
            with tenant_context(shared.b):
                dana_b = shared.membership(shared.dana, shared.b)
                f.ClientFactory(tenant=shared.b, name="Globex Cedar", owner=dana_b)
            rollups_rebuild(a)
            yield shared, {"bob": bob, "dana": dana, "cedar": cedar, "birch": birch, "oak": oak, "desk": desk_tp, "visit": visit}

    @pytest.fixture
    def world(self, built, db):
        return built[0]

    @pytest.fixture
    def desk(self, built, db):
        return built[1]

    @pytest.mark.parametrize("who", ["bob", "dana", "carol", "alice"])
    def test_it_renders_for_staff_and_up(self, world, desk, client, who):
        response = home(client, getattr(world, who))
        assert response.status_code == 200
        html = response.content.decode()
        assert "My home" in html
        assert "Log an interaction" in html
        assert "My open follow-ups" in html
        assert "My clients" in html
        assert "My perception gap" in html
        assert "data-gap-sentence" in html
        assert "What is shown?" in html
        if who in ("bob", "dana"):  # the two with answered predictions
            assert 'data-tile="perception_gap"' in html
            assert 'data-chart="chart-my-gap-data"' in html
            assert "How is this computed?" in html


    def test_a_viewer_gets_403_and_a_stranger_404(self, world, desk, client):
        assert home(client, world.victor).status_code == 403
        assert home(client, world.charlie).status_code == 404


    def test_staff_never_see_another_staff_members_clients_follow_ups_or_numbers(self, world, desk, client):
        bob_html = home(client, world.bob).content.decode()
        assert "Cedar Dental" in bob_html
        assert "Birch Law" in bob_html
        assert "Oak Dana Holdings" not in bob_html
        assert "Dana&#x27;s secret follow-up" not in bob_html
        assert "Globex Cedar" not in bob_html
        dana_html = home(client, world.dana).content.decode()
        assert "Oak Dana Holdings" in dana_html
        assert "Dana&#x27;s secret follow-up" in dana_html
        assert "Cedar Dental" not in dana_html
        assert "Send the revised quote" not in dana_html
        # Asking for Dana's numbers in the URL changes nothing: the staff filter is forced to Bob.
        forced = home(client, world.bob, {"staff": str(desk["dana"].uuid)})
        assert forced.status_code == 200
        assert forced.context["page"].gap_tile == home(client, world.bob).context["page"].gap_tile
        assert 'name="staff"' not in forced.content.decode()
        # And Bob's gap is not Dana's.
        assert home(client, world.bob).context["page"].gap_tile.value != home(client, world.dana).context["page"].gap_tile.value


    def test_a_lead_sees_their_own_home_not_their_staffs(self, world, desk, client):
        html = home(client, world.carol).content.decode()
        assert "Cedar Dental" not in html
        assert "Send the revised quote" not in html
        assert "You own no active client yet" in html
        assert "No open follow-ups" in html


    def test_the_home_of_another_tenant_shows_that_tenants_rows_only(self, world, desk, client):
        response = home(client, world.dana, path="/t/globex/home/")
        html = response.content.decode()
        assert response.status_code == 200
        assert "Globex Cedar" in html
        assert "Oak Dana Holdings" not in html


    def test_my_clients_show_their_latest_counted_answers_and_risk(self, world, desk, client):
        page = home(client, world.bob).context["page"]
        rows = {row.name: row for row in page.clients}
        assert set(rows) == {"Cedar Dental", "Birch Law"}  # the churned client is not listed
        cedar = {cell.label: cell for cell in rows["Cedar Dental"].scores}
        three_days_ago = local_today(world.a.time_zone) - timedelta(days=3)  # the latest NPS: a gap pair's answer (not the bot's 0)
        assert cedar["NPS"].value == "6/10"
        assert cedar["NPS"].day == f"{three_days_ago:%-d %b %Y}"
        assert cedar["CSAT"].value == "5/5"
        assert cedar["CES"].value == "—"
        assert not cedar["CES"].answered
        assert rows["Cedar Dental"].risk_band in ("low", "medium", "high")
        assert "risk (" in rows["Cedar Dental"].risk_label
        assert all(not cell.answered for cell in rows["Birch Law"].scores)
        assert page.clients_total == 2
        assert page.clients_more == 0
        csv_rows = table(page, "my-clients").rows
        assert [r[0] for r in csv_rows] == [row.name for row in page.clients]
        html = home(client, world.bob).content.decode()
        assert f'href="/t/acme/clients/{desk["cedar"].uuid}/"' in html


    @pytest.mark.parametrize("who,query", [("bob", {}), ("bob", {"period": "90d"}), ("dana", {"period": "7d"}),
                                           ("bob", {"period": "custom", "from": "2020-01-01", "to": "2020-12-31"})])
    def test_my_perception_gap_equals_the_metrics_api_for_me(self, world, desk, client, api_client, who, query):
        user = getattr(world, who)
        response = home(client, user, query)
        state, page = response.context["state"], response.context["page"]
        me = desk[who]
        params = state.api_params()
        assert params["staff"] == str(me.uuid)
        api_client.force_login(user)
        body = api_client.get(f"{API}perception-gap/", params).json()
        tile = dict(table(page, "tile-my-gap").rows)
        overall = body["overall"]
        assert (tile["Value"], tile["n"], tile["95% CI low"], tile["95% CI high"]) == (
            overall["value"], overall["n"], overall["ci_low"], overall["ci_high"])
        assert [list(r) for r in table(page, "my-gap-touchpoints").rows] == [
            [r["label"], r["n"], r["value"], r["ci_low"], r["ci_high"], r["actual_nps"], r["perceived_nps"], r["low_sample"]]
            for r in body["touchpoints"]]
        assert {r["label"] for r in body["staff"]} <= {me.user.full_name}


    def test_the_gap_is_said_in_words(self, world, desk, client):
        page = home(client, world.bob).context["page"]
        assert page.gap_tile.n == 5
        assert page.gap_tile.value == "2.0 pts"  # (3 + 3 + 0 + 4 + 0) / 5
        assert page.gap_sentence.startswith("On average you predicted 2.0 points higher than clients answered (5 pairs).")
        dana = home(client, world.dana).context["page"]
        assert "lower than clients answered (3 pairs)" in dana.gap_sentence


    def test_the_period_changes_my_numbers(self, world, desk, client):
        month = home(client, world.bob, {"period": "30d"}).context["page"]
        quarter = home(client, world.bob, {"period": "90d"}).context["page"]
        week = home(client, world.bob, {"period": "7d"}).context["page"]
        assert (week.gap_tile.n, month.gap_tile.n, quarter.gap_tile.n) == (1, 5, 6)
        assert quarter.gap_tile.value != month.gap_tile.value


    @pytest.mark.parametrize("query,message", [
        ({"period": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "Enter a valid date"),
        ({"period": "custom", "to": "2026-03-01"}, "A custom range needs both"),
        ({"period": "custom", "from": "1800-01-01", "to": "1800-02-01"}, "1900"),
        ({"period": "forever"}, "Select a valid choice"),
    ])
    def test_a_refused_period_answers_400_with_the_error_and_the_rest_of_the_home(self, world, desk, client, query, message):
        response = home(client, world.bob, query)
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html
        assert "Fix the period above" in html
        assert "Log an interaction" in html
        assert "Send the revised quote" in html
        assert "Cedar Dental" in html
        assert response.context["page"].gap_tile is None
        assert home(client, world.bob, {**query, "csv": "my-clients"}).status_code == 400


    def test_each_table_downloads_as_csv(self, world, desk, client):
        response = home(client, world.bob, {"period": "90d"})
        page, html = response.context["page"], response.content.decode()
        for table_id in TABLE_IDS:
            assert f"csv={table_id}" in html
            download = home(client, world.bob, {"period": "90d", "csv": table_id})
            assert download.status_code == 200
            assert download["Content-Type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(download.content.decode())))
            assert rows[0] == list(table(page, table_id).columns)
            assert len(rows) == len(table(page, table_id).rows) + 1
        follow_ups = list(csv.reader(io.StringIO(home(client, world.bob, {"csv": "my-follow-ups"}).content.decode())))
        assert [r[1] for r in follow_ups[1:]] == ["Send the revised quote", "Call about the invoice", "Check in after onboarding"]
        assert home(client, world.bob, {"csv": "nope"}).status_code == 404


    def test_an_htmx_request_gets_only_the_perception_gap_section(self, world, desk, client):
        response = home(client, world.bob, {"period": "90d"}, HX_Request="true")
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<section id="dashboard"')
        assert "<html" not in html
        assert "My perception gap" in html
        assert 'data-tile="perception_gap"' in html
        assert "data-log-form" not in html
        assert "Send the revised quote" not in html


    def test_the_log_form_posts_to_the_log_page_and_comes_back_home(self, world, desk, client):
        html = home(client, world.bob, {"period": "7d"}).content.decode()
        form = re.search(r'<form method="post" action="([^"]+)" class="log-form', html)
        assert form
        assert form.group(1) == "/t/acme/interactions/new/"
        key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
        assert 'name="next" value="/t/acme/home/"' in html  # the home (its period is the gap's, changed in place by htmx)
        data = {"client": str(desk["birch"].uuid), "touchpoint": str(desk["visit"].uuid), "outcome": "resolved",
                "summary": "Logged from my home", "idempotency_key": key, "next": "/t/acme/home/?period=7d"}
        response = client.post("/t/acme/interactions/new/", data)
        assert response.status_code == 302
        assert response["Location"] == "/t/acme/home/?period=7d"
        with tenant_context(world.a):
            assert Interaction.objects.filter(summary="Logged from my home", staff=desk["bob"]).exists()
        after = client.get(response["Location"]).content.decode()
        assert "Logged: Birch Law" in after


    @pytest.mark.parametrize("next_url", ["https://evil.example/t/acme/home/", "//evil.example/", "/t/globex/home/", "/accounts/logout/"])
    def test_the_log_form_never_returns_to_a_page_outside_the_workspace(self, world, desk, client, next_url):
        client.force_login(world.bob)
        data = {"client": str(desk["birch"].uuid), "touchpoint": str(desk["visit"].uuid), "outcome": "resolved",
                "summary": "Elsewhere?", "next": next_url}
        response = client.post("/t/acme/interactions/new/", data)
        assert response.status_code == 302
        assert response["Location"] == "/t/acme/interactions/new/"


    def test_a_follow_up_done_from_home_comes_back_home(self, world, desk, client):
        html = home(client, world.bob).content.decode()
        with tenant_context(world.a):
            overdue = Interaction.objects.get(summary="Send the revised quote")
        action = f"/t/acme/interactions/{overdue.uuid}/follow-up-done/"
        assert action in html
        response = client.post(action, {"next": "/t/acme/home/"})
        assert response.status_code == 302
        assert response["Location"] == "/t/acme/home/"
        assert "Send the revised quote" not in client.get("/t/acme/home/").content.decode()

    def test_the_number_of_queries_does_not_grow_with_rows(self, world, desk, client):
        bob = desk["bob"]

        def grow(n):
            with tenant_context(world.a):
                version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=world.a, kind="custom"))
                for i in range(n):
                    account = f.ClientFactory(tenant=world.a, owner=bob)
                    tp = f.TouchpointFactory(tenant=world.a)
                    f.ResponseFactory(version=version, client=account, staff=bob, touchpoint=tp, nps=i % 11, csat=1 + i % 5, ces=1 + i % 7,
                                      predicted=(i * 3) % 11, submitted_at=days_ago(world.a, 1 + i % 20))
                    f.InteractionFactory(staff=bob, client=account, touchpoint=tp, follow_up=True,
                                         follow_up_due=local_today(world.a.time_zone) + timedelta(days=i % 9 - 4))
                churn_risk_refresh(world.a)
            rollups_rebuild(world.a)

        def measure():
            client.force_login(world.bob)
            client.get(URL)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(URL).status_code == 200
            return len(ctx.captured_queries)

        grow(2)
        few = measure()
        grow(30)
        assert measure() == few
