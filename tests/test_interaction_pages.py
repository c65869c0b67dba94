"""The front-line pages: log an interaction (form, type-ahead, search step), My day, closing a
follow-up. Two tenants throughout; foreign ids are errors that write nothing."""

import datetime
import re
import uuid
import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.tenancy.context import tenant_context
from apps.touchpoints.models import Interaction
from tests import factories as f

LOG = "/t/acme/interactions/new/"
SEARCH = "/t/acme/interactions/client-search/"
MY_DAY = "/t/acme/my-day/"


@pytest.fixture
def desk(world):
    """Acme: two active touchpoints and an archived one, Cedar Dental (two contacts), Birch Law (one).
    Globex: its own Cedar Dental, contact and touchpoint (the same names, other rows)."""
    a = {
        "helpdesk": f.TouchpointFactory(tenant=world.a, name="Helpdesk call", channel="phone"),
        "visit": f.TouchpointFactory(tenant=world.a, name="Site visit", channel="in_person"),
        "archived": f.TouchpointFactory(tenant=world.a, name="Fax line", channel="mail", is_active=False),
        "cedar": f.ClientFactory(tenant=world.a, name="Cedar Dental", segment=f.SegmentFactory(tenant=world.a, name="Clinics")),
        "birch": f.ClientFactory(tenant=world.a, name="Birch Law"),
    }
    a["jordan"] = f.ContactFactory(client=a["cedar"], name="Jordan Lee", email="jordan@cedar.example")
    a["sam"] = f.ContactFactory(client=a["cedar"], name="Sam Park", email="sam@cedar.example")
    a["bea"] = f.ContactFactory(client=a["birch"], name="Bea Birch", email="bea@birch.example")
    b = {
        "helpdesk": f.TouchpointFactory(tenant=world.b, name="Helpdesk call", channel="phone"),
        "cedar": f.ClientFactory(tenant=world.b, name="Cedar Dental"),
    }
    b["jordan"] = f.ContactFactory(client=b["cedar"], name="Jordan Lee", email="jordan@globex-cedar.example")
    return {"a": a, "b": b}


def post_data(desk, **overrides):
    a = desk["a"]
    data = {"client": str(a["cedar"].uuid), "contact": str(a["jordan"].uuid), "touchpoint": str(a["visit"].uuid),
            "outcome": "resolved", "summary": "Walked them through the new portal, very happy", "staff_sentiment": "2",
            "predicted_score": "9", "idempotency_key": str(uuid.uuid4())}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def rows(tenant=None, world=None):
    with tenant_context(tenant):
        return Interaction.objects.count()


def selected_touchpoint(html: str) -> str:
    match = re.search(r'<option value="([0-9a-f-]+)" selected>([^<]+)</option>', html)
    return match.group(2) if match else ""


# --- the log form ------------------------------------------------------------------------------

def test_it_shows_the_form_with_the_first_active_touchpoint_and_a_fresh_key(world, desk, client):
    client.force_login(world.bob)
    first = client.get(LOG)
    second = client.get(LOG)
    assert first.status_code == 200
    html = first.content.decode()
    assert selected_touchpoint(html) == "Helpdesk call"
    assert "Fax line" not in html  # archived touchpoints are not offered
    keys = [re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', r.content.decode()).group(1) for r in (first, second)]
    assert keys[0] != keys[1]
    assert SCORE_QUESTION_TEXT in html


SCORE_QUESTION_TEXT = "What would this client answer today if asked how likely they are to recommend us?"


def test_it_logs_an_interaction_and_answers_with_an_empty_form_naming_the_client(world, desk, client):
    client.force_login(world.bob)
    response = client.post(LOG, post_data(desk, follow_up="on", follow_up_due="2030-01-02"))
    assert response.status_code == 302
    assert response["Location"] == LOG
    with tenant_context(world.a):
        interaction = Interaction.objects.select_related("staff__user", "client", "contact", "touchpoint").get()
    assert interaction.staff.user == world.bob
    assert interaction.client.name == "Cedar Dental"
    assert interaction.contact.name == "Jordan Lee"
    assert interaction.touchpoint.name == "Site visit"
    assert interaction.channel == "in_person"  # the touchpoint's channel
    assert (interaction.outcome, interaction.staff_sentiment, interaction.predicted_score) == ("resolved", 2, 9)
    assert interaction.follow_up
    assert interaction.follow_up_due == datetime.date(2030, 1, 2)
    assert abs(interaction.occurred_at - timezone.now()) < timedelta(minutes=1)  # empty = now

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Logged: Cedar Dental — resolved." in html
    assert 'href="/t/acme/my-day/"' in html
    assert selected_touchpoint(html) == "Site visit"  # remembered from this staff member's last interaction
    assert 'name="client" value=""' in html or 'name="client" id="id_client"' in html  # an empty form


def test_it_logs_once_when_the_same_form_is_posted_twice(world, desk, client):
    client.force_login(world.bob)
    data = post_data(desk)
    first = client.post(LOG, data)
    second = client.post(LOG, {**data, "summary": "a second click"})
    assert first.status_code == second.status_code == 302
    assert rows(world.a) == 1
    assert "Already saved" in client.get(LOG).content.decode()


def test_it_prefills_the_client_and_only_its_contacts_from_the_query_string(world, desk, client):
    client.force_login(world.bob)
    response = client.get(LOG, {"client": str(desk["a"]["cedar"].uuid)})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="client" value="{desk["a"]["cedar"].uuid}"' in html
    assert "Jordan Lee" in html
    assert "Sam Park" in html
    assert "Bea Birch" not in html
    assert 'value="Cedar Dental"' in html


@pytest.mark.parametrize("value", ["foreign", "missing", "not-a-uuid"])
def test_it_answers_400_to_an_unknown_or_foreign_client_in_the_query_string(world, desk, client, value):
    client.force_login(world.bob)
    param = {"foreign": str(desk["b"]["cedar"].uuid), "missing": str(uuid.uuid4()), "not-a-uuid": "x1"}[value]
    response = client.get(LOG, {"client": param})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Jordan Lee" not in html  # nothing of the other tenant's client leaks
    # A POST carrying the bad query string writes nothing either.
    assert client.post(f"{LOG}?client={param}", post_data(desk)).status_code == 400
    assert rows(world.a) == 0


def test_it_searches_for_the_client_without_javascript(world, desk, client):
    client.force_login(world.bob)
    response = client.get(LOG, {"q": "ced"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="?client={desk["a"]["cedar"].uuid}"' in html
    assert str(desk["b"]["cedar"].uuid) not in html
    assert "No client matches" in client.get(LOG, {"q": "zzz"}).content.decode()


FOREIGN = {
    "client": lambda d: {"client": str(d["b"]["cedar"].uuid), "contact": None},
    "touchpoint": lambda d: {"touchpoint": str(d["b"]["helpdesk"].uuid)},
    "contact": lambda d: {"contact": str(d["b"]["jordan"].uuid)},
}


@pytest.mark.parametrize("case,field", [
    ("follow-up without a date", "follow_up_due"),
    ("score 11", "predicted_score"),
    ("contact of another client", "contact"),
    ("foreign client", "client"),
    ("foreign touchpoint", "touchpoint"),
    ("foreign contact", "contact"),
    ("archived touchpoint", "touchpoint"),
    ("no client", "client"),
    ("summary too long", "summary"),
    ("in the future", "occurred_at"),
    ("sentiment 3", "staff_sentiment"),
])
def test_it_rejects_bad_input_with_400_and_writes_nothing(world, desk, client, case, field):
    a = desk["a"]
    overrides = {
        "follow-up without a date": {"follow_up": "on"},
        "score 11": {"predicted_score": "11"},
        "contact of another client": {"contact": str(a["bea"].uuid)},
        "foreign client": FOREIGN["client"](desk),
        "foreign touchpoint": FOREIGN["touchpoint"](desk),
        "foreign contact": FOREIGN["contact"](desk),
        "archived touchpoint": {"touchpoint": str(a["archived"].uuid)},
        "no client": {"client": "", "contact": None},
        "summary too long": {"summary": "x" * 281},
        "in the future": {"occurred_at": (timezone.localtime(timezone.now()) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")},
        "sentiment 3": {"staff_sentiment": "3"},
    }[case]
    client.force_login(world.bob)
    response = client.post(LOG, post_data(desk, **overrides))
    assert response.status_code == 400, case
    assert field in response.context["form"].errors, response.context["form"].errors
    assert 'class="field__error"' in response.content.decode()
    assert rows(world.a) == 0
    assert rows(world.b) == 0


def test_it_reads_the_time_in_the_tenants_zone(world, desk, client):
    client.force_login(world.bob)  # Acme is in Europe/Brussels: UTC+1 in March
    assert client.post(LOG, post_data(desk, occurred_at="2025-03-04T09:30", channel="email")).status_code == 302
    with tenant_context(world.a):
        interaction = Interaction.objects.get()
    assert interaction.occurred_at == datetime.datetime(2025, 3, 4, 8, 30, tzinfo=datetime.UTC)
    assert interaction.channel == "email"


def test_it_ignores_a_due_date_left_behind_by_an_unticked_follow_up(world, desk, client):
    client.force_login(world.bob)
    assert client.post(LOG, post_data(desk, follow_up_due="2030-01-02")).status_code == 302
    with tenant_context(world.a):
        interaction = Interaction.objects.get()
    assert not interaction.follow_up
    assert interaction.follow_up_due is None


@pytest.mark.parametrize("method,path", [("get", LOG), ("post", LOG), ("get", MY_DAY), ("get", SEARCH)])
def test_it_requires_staff_or_up(world, desk, client, method, path):
    client.force_login(world.victor)  # viewer
    response = getattr(client, method)(path, post_data(desk) if method == "post" else {"q": "ced"})
    assert response.status_code == 403
    assert rows(world.a) == 0


@pytest.mark.parametrize("who", ["alice", "carol", "bob"])
def test_it_lets_every_staff_role_log(world, desk, client, who):
    client.force_login(getattr(world, who))
    assert client.post(LOG, post_data(desk)).status_code == 302
    assert rows(world.a) == 1


# --- client type-ahead -------------------------------------------------------------------------

def test_it_finds_clients_by_name_or_contact_within_the_tenant(world, desk, client):
    client.force_login(world.bob)
    body = client.get(SEARCH, {"q": "ced"}).json()
    assert [r["name"] for r in body["results"]] == ["Cedar Dental"]
    cedar = body["results"][0]
    assert cedar["id"] == str(desk["a"]["cedar"].uuid)
    assert cedar["segment"] == "Clinics"
    assert [c["name"] for c in cedar["contacts"]] == ["Jordan Lee", "Sam Park"]
    by_email = client.get(SEARCH, {"q": "bea@birch"}).json()["results"]
    assert [r["name"] for r in by_email] == ["Birch Law"]
    assert client.get(SEARCH, {"q": ""}).json()["results"] == []
    assert client.get(SEARCH, {"q": "x" * 101}).status_code == 400


def test_it_lists_names_starting_with_the_query_first_and_at_most_ten(world, desk, client):
    for n in range(12):
        f.ClientFactory(tenant=world.a, name=f"Dental Group {n:02}")
    client.force_login(world.bob)
    results = client.get(SEARCH, {"q": "dental"}).json()["results"]
    assert len(results) == 10
    assert results[0]["name"] == "Dental Group 00"


def _count(client, path, params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_client_search_answers_in_constant_queries(world, desk, client):
    client.force_login(world.bob)
    _count(client, SEARCH, {"q": "acct"})

    def grow(n):
        for _ in range(n):
            account = f.ClientFactory(tenant=world.a, name=f"Acct {uuid.uuid4().hex[:6]}", segment=f.SegmentFactory(tenant=world.a))
            for _ in range(3):
                f.ContactFactory(client=account)

    grow(3)
    few = _count(client, SEARCH, {"q": "acct"})
    grow(27)
    assert _count(client, SEARCH, {"q": "acct"}) == few


# --- My day ------------------------------------------------------------------------------------

def make(world, desk, who="bob", **kwargs):
    staff = world.membership(getattr(world, who), world.a)
    return f.InteractionFactory(staff=staff, client=desk["a"]["cedar"], touchpoint=desk["a"]["helpdesk"], **kwargs)


def test_it_shows_my_follow_ups_overdue_first_and_my_recent_interactions(world, desk, client):
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo("Europe/Brussels"))  # Acme's day
    make(world, desk, summary="Upcoming thing", follow_up=True, follow_up_due=today + timedelta(days=4))
    make(world, desk, summary="Overdue thing", follow_up=True, follow_up_due=today - timedelta(days=3))
    make(world, desk, summary="Closed thing", follow_up=True, follow_up_due=today - timedelta(days=1), follow_up_done_at=timezone.now())
    make(world, desk, summary="Old thing", occurred_at=timezone.now() - timedelta(days=20))
    make(world, desk, who="dana", summary="Dana's thing", follow_up=True, follow_up_due=today)
    f.InteractionFactory(staff=world.membership(world.charlie, world.b), summary="Globex thing")

    client.force_login(world.bob)
    response = client.get(MY_DAY)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Overdue thing") < html.index("Upcoming thing")
    assert "Overdue by 3 days" in html
    assert "Due in 4 days" in html
    assert "Dana&#x27;s thing" not in html
    assert "Dana's thing" not in html
    assert "Globex thing" not in html
    assert "Old thing" not in html  # older than 14 days
    day = response.context["day"]
    assert (day.open_follow_ups, day.overdue_count, day.logged_today) == (2, 1, 3)  # "Old thing" happened 20 days ago
    assert [i.summary for i in day.recent] == ["Closed thing", "Overdue thing", "Upcoming thing"]  # newest first


def test_it_shows_the_text_sentiment_once_scored(world, desk, client, django_capture_on_commit_callbacks):
    client.force_login(world.bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(LOG, post_data(desk, summary="Wonderful call, the client loved the new service"))
    html = client.get(MY_DAY).content.decode()
    assert "Text:" in html
    assert "positive (" in html


def test_my_day_answers_in_constant_queries(world, desk, client):
    client.force_login(world.bob)
    today = datetime.date.today()

    def grow(n):
        for i in range(n):
            make(world, desk, follow_up=True, follow_up_due=today + timedelta(days=i - 2), predicted_score=7,
                 contact=desk["a"]["jordan"])
            make(world, desk)

    _count(client, MY_DAY, {})
    grow(3)
    few = _count(client, MY_DAY, {})
    grow(27)
    assert _count(client, MY_DAY, {}) == few


def test_the_log_form_answers_in_constant_queries(world, desk, client):
    client.force_login(world.bob)
    make(world, desk)  # (with no interaction yet, the remembered touchpoint takes one more query)
    params = {"client": str(desk["a"]["cedar"].uuid)}
    _count(client, LOG, params)
    few = _count(client, LOG, params)
    for _ in range(30):
        f.ContactFactory(client=desk["a"]["cedar"])
        f.TouchpointFactory(tenant=world.a)
        make(world, desk)
    assert _count(client, LOG, params) == few


# --- closing a follow-up -----------------------------------------------------------------------

def done_path(interaction):
    return f"/t/acme/interactions/{interaction.uuid}/follow-up-done/"


@pytest.mark.parametrize("who", ["bob", "carol", "alice"])
def test_the_owner_or_a_lead_closes_a_follow_up(world, desk, client, who):
    interaction = make(world, desk, follow_up=True, follow_up_due=datetime.date.today())
    client.force_login(getattr(world, who))
    response = client.post(done_path(interaction))
    assert response.status_code == 302
    assert response["Location"] == MY_DAY
    with tenant_context(world.a):
        interaction.refresh_from_db()
    assert interaction.follow_up_done_at is not None
    assert "marked done" in client.get(MY_DAY).content.decode()


def test_another_staff_member_cannot_close_my_follow_up(world, desk, client):
    interaction = make(world, desk, follow_up=True, follow_up_due=datetime.date.today())
    client.force_login(world.dana)  # staff of Acme, not the owner
    assert client.post(done_path(interaction)).status_code == 403
    client.force_login(world.victor)  # viewer
    assert client.post(done_path(interaction)).status_code == 403
    with tenant_context(world.a):
        interaction.refresh_from_db()
    assert interaction.follow_up_done_at is None


def test_closing_a_follow_up_is_post_only_and_404s_for_another_tenant(world, desk, client):
    foreign = f.InteractionFactory(staff=world.membership(world.charlie, world.b), follow_up=True, follow_up_due=datetime.date.today())
    client.force_login(world.bob)
    assert client.get(done_path(foreign)).status_code == 405
    assert client.post(done_path(foreign)).status_code == 404
    with tenant_context(world.b):
        foreign.refresh_from_db()
    assert foreign.follow_up_done_at is None
