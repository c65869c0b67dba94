"""The interactions API: list with filters, log (session or API key), correct, close a follow-up.
Two tenants throughout; a foreign or unknown id is a 400 (body, query) or 404 (path) and writes nothing."""

import datetime
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.services import membership_deactivate
from apps.touchpoints.models import Interaction
from tests import factories as f
from tests.conftest import make_api_key

BASE = "/api/v1/t/acme/interactions/"


@pytest.fixture
def desk(world):
    a = {
        "helpdesk": f.TouchpointFactory(tenant=world.a, name="Helpdesk call", channel="phone"),
        "visit": f.TouchpointFactory(tenant=world.a, name="Site visit", channel="in_person"),
        "cedar": f.ClientFactory(tenant=world.a, name="Cedar Dental"),
        "birch": f.ClientFactory(tenant=world.a, name="Birch Law"),
    }
    a["jordan"] = f.ContactFactory(client=a["cedar"], name="Jordan Lee")
    a["bea"] = f.ContactFactory(client=a["birch"], name="Bea Birch")
    b = {"helpdesk": f.TouchpointFactory(tenant=world.b, name="Helpdesk call"), "cedar": f.ClientFactory(tenant=world.b, name="Cedar Dental")}
    b["jordan"] = f.ContactFactory(client=b["cedar"], name="Jordan Lee")
    return {"a": a, "b": b}


def body(desk, **overrides):
    a = desk["a"]
    data = {"client": str(a["cedar"].uuid), "contact": str(a["jordan"].uuid), "touchpoint": str(a["helpdesk"].uuid),
            "outcome": "unresolved", "summary": "Invoice still wrong, they are annoyed", "staff_sentiment": -1, "predicted_score": 5}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count(tenant):
    with tenant_context(tenant):
        return Interaction.objects.count()


def make(world, desk, who="bob", **kwargs):
    kwargs.setdefault("client", desk["a"]["cedar"])
    kwargs.setdefault("touchpoint", desk["a"]["helpdesk"])
    return f.InteractionFactory(staff=world.membership(getattr(world, who), world.a), **kwargs)


def key_client(api_client, tenant, role):
    _, raw = make_api_key(tenant, role=role, name=f"{role} key {uuid.uuid4().hex[:4]}")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api_client


# --- logging -----------------------------------------------------------------------------------

def test_it_logs_an_interaction_as_the_signed_in_staff_member(world, desk, api_client, django_capture_on_commit_callbacks):
    api_client.force_login(world.bob)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(BASE, body(desk), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    bob = world.membership(world.bob, world.a)
    assert data["staff"] == str(bob.uuid)
    assert data["staff_name"] == "Bob"
    assert data["client"] == str(desk["a"]["cedar"].uuid)
    assert data["client_name"] == "Cedar Dental"
    assert data["contact_name"] == "Jordan Lee"
    assert data["touchpoint_name"] == "Helpdesk call"
    assert data["channel"] == "phone"
    assert data["outcome"] == "unresolved"
    assert data["predicted_score"] == 5
    assert data["follow_up"] is False
    assert data["follow_up_due"] is None
    assert data["follow_up_done_at"] is None
    assert "pk" not in data
    assert isinstance(data["id"], str)
    assert data["text_sentiment"] is None
    assert len(callbacks) == 1  # scored by a task once committed
    scored = api_client.get(f"{BASE}{data['id']}/").json()
    assert scored["text_sentiment"] is not None
    assert scored["text_sentiment"] < -0.05


def test_it_logs_once_for_one_idempotency_key(world, desk, api_client):
    api_client.force_login(world.bob)
    first = api_client.post(BASE, body(desk), format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    second = api_client.post(BASE, body(desk), format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert count(world.a) == 1


def test_it_refuses_to_log_for_someone_else_in_a_session(world, desk, api_client):
    api_client.force_login(world.bob)
    dana = world.membership(world.dana, world.a)
    response = api_client.post(BASE, body(desk, staff=str(dana.uuid)), format="json")
    assert response.status_code == 400
    assert "staff" in response.json()["error"]["fields"]
    own = world.membership(world.bob, world.a)
    assert api_client.post(BASE, body(desk, staff=str(own.uuid)), format="json").status_code == 201


def test_an_api_key_must_name_an_active_staff_member(world, desk, api_client):
    key_client(api_client, world.a, Role.STAFF)
    missing = api_client.post(BASE, body(desk), format="json")
    assert missing.status_code == 400
    assert "staff" in missing.json()["error"]["fields"]
    victor = world.membership(world.victor, world.a)  # a viewer never logs interactions
    viewer = api_client.post(BASE, body(desk, staff=str(victor.uuid)), format="json")
    assert viewer.status_code == 400
    assert "staff" in viewer.json()["error"]["fields"]
    with tenant_context(world.a):
        dana = world.membership(world.dana, world.a)
        membership_deactivate(tenant=world.a, acting_user=world.alice, membership=dana)
    inactive = api_client.post(BASE, body(desk, staff=str(dana.uuid)), format="json")
    assert inactive.status_code == 400
    assert "staff" in inactive.json()["error"]["fields"]
    assert count(world.a) == 0
    bob = world.membership(world.bob, world.a)
    response = api_client.post(BASE, body(desk, staff=str(bob.uuid)), format="json")
    assert response.status_code == 201
    assert response.json()["staff"] == str(bob.uuid)


@pytest.mark.parametrize("case,field", [
    ("follow-up without a date", "follow_up_due"),
    ("a date without the follow-up", "follow_up_due"),
    ("score 11", "predicted_score"),
    ("contact of another client", "contact"),
    ("foreign client", "client"),
    ("foreign touchpoint", "touchpoint"),
    ("foreign contact", "contact"),
    ("foreign staff", "staff"),
    ("unknown client", "client"),
    ("summary too long", "summary"),
    ("bad outcome", "outcome"),
])
def test_it_rejects_bad_input_with_400_and_writes_nothing(world, desk, api_client, case, field):
    a, b = desk["a"], desk["b"]
    overrides = {
        "follow-up without a date": {"follow_up": True},
        "a date without the follow-up": {"follow_up_due": "2030-01-01"},
        "score 11": {"predicted_score": 11},
        "contact of another client": {"contact": str(a["bea"].uuid)},
        "foreign client": {"client": str(b["cedar"].uuid), "contact": None},
        "foreign touchpoint": {"touchpoint": str(b["helpdesk"].uuid)},
        "foreign contact": {"contact": str(b["jordan"].uuid)},
        "foreign staff": {"staff": str(world.membership(world.charlie, world.b).uuid)},
        "unknown client": {"client": str(uuid.uuid4()), "contact": None},
        "summary too long": {"summary": "x" * 281},
        "bad outcome": {"outcome": "maybe"},
    }[case]
    api_client.force_login(world.alice)
    response = api_client.post(BASE, body(desk, **overrides), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error", error
    assert field in error["fields"], error
    assert count(world.a) == 0
    assert count(world.b) == 0


def test_a_viewer_reads_but_cannot_log(world, desk, api_client):
    make(world, desk)
    api_client.force_login(world.victor)
    assert api_client.get(BASE).status_code == 200
    response = api_client.post(BASE, body(desk), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert count(world.a) == 1


# --- reading and filtering ---------------------------------------------------------------------

def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_it_lists_only_this_tenants_interactions_with_filters(world, desk, api_client):
    a = desk["a"]
    cedar_call = make(world, desk, outcome="resolved", predicted_score=8, contact=a["jordan"])
    birch_visit = make(world, desk, who="dana", client=a["birch"], touchpoint=a["visit"], outcome="escalated",
                       follow_up=True, follow_up_due=datetime.date(2030, 1, 1))
    done = make(world, desk, follow_up=True, follow_up_due=datetime.date(2030, 1, 1), follow_up_done_at=datetime.datetime.now(datetime.UTC))
    foreign = f.InteractionFactory(staff=world.membership(world.charlie, world.b))
    api_client.force_login(world.victor)

    everything = ids(api_client.get(BASE))
    assert everything == {str(i.uuid) for i in (cedar_call, birch_visit, done)}
    assert str(foreign.uuid) not in everything
    assert ids(api_client.get(BASE, {"client": str(a["birch"].uuid)})) == {str(birch_visit.uuid)}
    assert ids(api_client.get(BASE, {"contact": str(a["jordan"].uuid)})) == {str(cedar_call.uuid)}
    assert ids(api_client.get(BASE, {"touchpoint": str(a["visit"].uuid)})) == {str(birch_visit.uuid)}
    assert ids(api_client.get(BASE, {"staff": str(world.membership(world.dana, world.a).uuid)})) == {str(birch_visit.uuid)}
    assert ids(api_client.get(BASE, {"outcome": "escalated"})) == {str(birch_visit.uuid)}
    assert ids(api_client.get(BASE, {"follow_up_open": "true"})) == {str(birch_visit.uuid)}
    assert ids(api_client.get(BASE, {"follow_up_open": "false"})) == {str(cedar_call.uuid), str(done.uuid)}
    assert ids(api_client.get(BASE, {"has_prediction": "true"})) == {str(cedar_call.uuid)}
    assert str(cedar_call.uuid) not in ids(api_client.get(BASE, {"has_prediction": "false"}))


def test_it_filters_days_in_the_tenants_time_zone(world, desk, api_client):
    # Acme is in Europe/Brussels (UTC+1 in January): 23:30 UTC on 1 Jan is 00:30 on 2 Jan there.
    late = make(world, desk, occurred_at=datetime.datetime(2025, 1, 1, 23, 30, tzinfo=datetime.UTC))
    early = make(world, desk, occurred_at=datetime.datetime(2025, 1, 1, 22, 30, tzinfo=datetime.UTC))
    api_client.force_login(world.bob)
    assert ids(api_client.get(BASE, {"from": "2025-01-02", "to": "2025-01-02"})) == {str(late.uuid)}
    assert ids(api_client.get(BASE, {"to": "2025-01-01"})) == {str(early.uuid)}
    assert api_client.get(BASE, {"from": "yesterday"}).status_code == 400


def test_it_rejects_a_foreign_id_in_a_filter(world, desk, api_client):
    api_client.force_login(world.bob)
    response = api_client.get(BASE, {"touchpoint": str(desk["b"]["helpdesk"].uuid)})
    assert response.status_code == 400
    assert "touchpoint" in response.json()["error"]["fields"]


def test_the_list_answers_in_constant_queries(world, desk, api_client):
    api_client.force_login(world.victor)

    def grow(n):
        for _ in range(n):
            account = f.ClientFactory(tenant=world.a)
            make(world, desk, client=account, contact=f.ContactFactory(client=account), touchpoint=f.TouchpointFactory(tenant=world.a))

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get(BASE).status_code == 200
        return len(ctx.captured_queries)

    grow(3)
    queries()
    few = queries()
    grow(27)
    assert queries() == few


def test_it_reads_one_and_404s_for_another_tenants(world, desk, api_client):
    mine = make(world, desk)
    foreign = f.InteractionFactory(staff=world.membership(world.charlie, world.b))
    api_client.force_login(world.victor)
    assert api_client.get(f"{BASE}{mine.uuid}/").json()["id"] == str(mine.uuid)
    assert api_client.get(f"{BASE}{foreign.uuid}/").status_code == 404


# --- correcting --------------------------------------------------------------------------------

@pytest.mark.parametrize("who,allowed", [("bob", True), ("carol", True), ("alice", True), ("dana", False)])
def test_the_author_or_a_lead_corrects_an_interaction(world, desk, api_client, who, allowed):
    interaction = make(world, desk, summary="Fine call", predicted_score=7)
    api_client.force_login(getattr(world, who))
    response = api_client.patch(f"{BASE}{interaction.uuid}/", {"outcome": "escalated", "predicted_score": 3}, format="json")
    assert response.status_code == (200 if allowed else 403), response.content
    with tenant_context(world.a):
        interaction.refresh_from_db()
    assert (interaction.outcome, interaction.predicted_score) == (("escalated", 3) if allowed else ("resolved", 7))


def test_a_new_summary_is_scored_again(world, desk, api_client, django_capture_on_commit_callbacks):
    interaction = make(world, desk, summary="Fine call")
    api_client.force_login(world.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(f"{BASE}{interaction.uuid}/", {"summary": "Awful, the client is furious and angry"}, format="json")
    assert response.status_code == 200
    with tenant_context(world.a):
        interaction.refresh_from_db()
    assert interaction.text_sentiment is not None
    assert interaction.text_sentiment < -0.05


def test_patch_validates_and_switches_the_follow_up(world, desk, api_client):
    interaction = make(world, desk)
    api_client.force_login(world.bob)
    path = f"{BASE}{interaction.uuid}/"
    bad = api_client.patch(path, {"follow_up": True}, format="json")
    assert bad.status_code == 400
    assert "follow_up_due" in bad.json()["error"]["fields"]
    assert api_client.patch(path, {"predicted_score": 11}, format="json").status_code == 400
    on = api_client.patch(path, {"follow_up": True, "follow_up_due": "2030-02-03"}, format="json").json()
    assert on["follow_up"] is True
    assert on["follow_up_due"] == "2030-02-03"
    off = api_client.patch(path, {"follow_up": False}, format="json").json()
    assert off["follow_up"] is False
    assert off["follow_up_due"] is None


def test_an_api_key_corrects_only_with_a_lead_role(world, desk, api_client):
    interaction = make(world, desk)
    path = f"{BASE}{interaction.uuid}/"
    assert key_client(api_client, world.a, Role.STAFF).patch(path, {"outcome": "escalated"}, format="json").status_code == 403
    assert key_client(api_client, world.a, Role.CX_LEAD).patch(path, {"outcome": "escalated"}, format="json").status_code == 200


# --- closing a follow-up -----------------------------------------------------------------------

def test_the_author_closes_a_follow_up_once_and_others_may_not(world, desk, api_client):
    interaction = make(world, desk, follow_up=True, follow_up_due=datetime.date.today() + timedelta(days=1))
    path = f"{BASE}{interaction.uuid}/follow-up-done/"
    api_client.force_login(world.dana)
    assert api_client.post(path).status_code == 403
    api_client.force_login(world.bob)
    first = api_client.post(path)
    assert first.status_code == 200
    assert first.json()["follow_up_done_at"] is not None
    again = api_client.post(path)
    assert again.json()["follow_up_done_at"] == first.json()["follow_up_done_at"]
    api_client.force_login(world.victor)
    assert api_client.post(path).status_code == 403
