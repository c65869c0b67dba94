"""Touchpoints: the list page (filters, placements, recent activity), create/edit/archive/restore/delete
pages, and the API (/api/v1/t/<slug>/touchpoints/), in the two-tenant world."""

import datetime

import pytest
from django.utils import timezone

from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Role, Team
from apps.touchpoints.models import Touchpoint
from tests.conftest import make_api_key
from tests.factories import InteractionFactory, JourneyFactory, StageFactory, StageTouchpointFactory, TeamFactory, TouchpointFactory

API = "/api/v1/t/acme/touchpoints/"
PAGE = "/t/acme/touchpoints/"


def _team(tenant, name="Support"):
    with tenant_context(tenant):
        return Team.objects.get(name=name)


def _touchpoints(tenant):
    with tenant_context(tenant):
        return {t.name: t for t in Touchpoint.objects.select_related("team")}


def _bearer(raw_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


# --- list page ---------------------------------------------------------------------------------------------

def test_it_lists_only_this_tenants_touchpoints_with_team_placements_and_activity(world, client):
    support = _team(world.a)
    tp = TouchpointFactory(tenant=world.a, name="Renewal call", channel="phone", team=support, is_key=True)
    stage = StageFactory(journey=JourneyFactory(tenant=world.a, name="Onboarding"), name="Welcome")
    StageTouchpointFactory(stage=stage, touchpoint=tp, moment_of_truth=True)
    bob = world.membership(world.bob, world.a)
    InteractionFactory(staff=bob, touchpoint=tp)
    InteractionFactory(staff=bob, touchpoint=tp)
    InteractionFactory(staff=bob, touchpoint=tp, occurred_at=timezone.now() - datetime.timedelta(days=120))
    TouchpointFactory(tenant=world.b, name="Globex secret desk")

    client.force_login(world.victor)  # a viewer reads
    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Renewal call" in html
    assert "Globex secret desk" not in html
    assert "Onboarding</a> › Welcome" in html
    assert "Moment of truth" in html
    row = html[html.index("Renewal call"):]
    row = row[:row.index("</tr>")]
    assert '<td class="num">2</td>' in row  # two in the last 90 days, not the old one
    assert "Support" in row
    assert "Key" in row
    assert "New touchpoint" not in html
    assert "Archive" not in html  # viewers get no write controls


def test_it_filters_the_list_by_channel_team_key_and_active(world, client):
    support = _team(world.a)
    TouchpointFactory(tenant=world.a, name="Help line", channel="phone", team=support, is_key=True)
    TouchpointFactory(tenant=world.a, name="Web chat", channel="chat")
    TouchpointFactory(tenant=world.a, name="Old kiosk", channel="kiosk", is_active=False)
    client.force_login(world.bob)

    def names(query):
        response = client.get(PAGE, query)
        assert response.status_code == 200
        html = response.content.decode()
        return {n for n in ("Help line", "Web chat", "Old kiosk") if n in html}

    assert names({"channel": "chat"}) == {"Web chat"}
    assert names({"team": str(support.uuid)}) == {"Help line"}
    assert names({"is_key": "true"}) == {"Help line"}
    assert names({"is_active": "false"}) == {"Old kiosk"}
    assert names({"q": "web"}) == {"Web chat"}


def test_it_answers_400_with_the_error_shown_for_another_tenants_team_in_the_filter(world, client):
    TouchpointFactory(tenant=world.a, name="Help line")
    client.force_login(world.alice)
    response = client.get(PAGE, {"team": str(_team(world.b).uuid)})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Help line" not in html


def test_it_lists_touchpoints_in_a_constant_number_of_queries(world, client, django_assert_max_num_queries):
    bob = world.membership(world.bob, world.a)

    def add(n):
        journey = JourneyFactory(tenant=world.a)
        for _ in range(n):
            tp = TouchpointFactory(tenant=world.a, team=_team(world.a))
            StageTouchpointFactory(stage=StageFactory(journey=journey), touchpoint=tp)
            InteractionFactory(staff=bob, touchpoint=tp)

    client.force_login(world.alice)
    add(3)
    client.get(PAGE)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(PAGE).status_code == 200
    add(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(PAGE).status_code == 200


# --- create, edit, archive, delete pages ---------------------------------------------------------------------

def test_a_lead_creates_a_touchpoint_and_it_is_audited(world, client):
    client.force_login(world.carol)
    response = client.post(PAGE + "new/", {"name": "  Renewal call ", "channel": "phone", "team": str(_team(world.a).uuid),
                                           "description": "60 days before", "is_key": "on"})
    assert response.status_code == 302
    tp = _touchpoints(world.a)["Renewal call"]
    assert tp.channel == "phone"
    assert tp.is_key
    assert tp.team.name == "Support"
    assert tp.is_active
    with tenant_context(world.a):
        assert AuditEvent.objects.filter(action="touchpoint.created", target_id=str(tp.uuid)).exists()
    assert "Renewal call" not in _touchpoints(world.b)


def test_it_refuses_a_duplicate_name_with_a_clear_form_error(world, client):
    TouchpointFactory(tenant=world.a, name="Renewal call")
    TouchpointFactory(tenant=world.b, name="Web chat")  # the same name in another tenant is fine
    client.force_login(world.alice)
    response = client.post(PAGE + "new/", {"name": "renewal CALL", "channel": "phone"})
    assert response.status_code == 400
    assert "A touchpoint with this name already exists." in response.content.decode()
    assert client.post(PAGE + "new/", {"name": "Web chat", "channel": "chat"}).status_code == 302


def test_it_refuses_another_tenants_team_in_the_form(world, client):
    client.force_login(world.alice)
    response = client.post(PAGE + "new/", {"name": "Sneaky", "channel": "phone", "team": str(_team(world.b).uuid)})
    assert response.status_code == 400
    assert "Sneaky" not in _touchpoints(world.a)


def test_a_lead_edits_a_touchpoint(world, client):
    tp = TouchpointFactory(tenant=world.a, name="Help line", channel="phone")
    client.force_login(world.carol)
    assert client.get(f"{PAGE}{tp.uuid}/edit/").status_code == 200
    response = client.post(f"{PAGE}{tp.uuid}/edit/", {"name": "Help desk", "channel": "chat", "description": "x"})
    assert response.status_code == 302
    tp = _touchpoints(world.a)["Help desk"]
    assert tp.channel == "chat"
    assert tp.team is None


@pytest.mark.parametrize("who", ["bob", "victor"])
def test_staff_and_viewers_cannot_change_touchpoints(world, client, who):
    tp = TouchpointFactory(tenant=world.a, name="Help line")
    client.force_login(getattr(world, who))
    assert client.get(PAGE + "new/").status_code == 403
    assert client.post(PAGE + "new/", {"name": "X", "channel": "phone"}).status_code == 403
    assert client.post(f"{PAGE}{tp.uuid}/edit/", {"name": "Y", "channel": "phone"}).status_code == 403
    assert client.post(f"{PAGE}{tp.uuid}/archive/").status_code == 403
    assert client.post(f"{PAGE}{tp.uuid}/delete/").status_code == 403
    assert set(_touchpoints(world.a)) == {"Help line"}
    assert _touchpoints(world.a)["Help line"].is_active


def test_archive_and_restore(world, client):
    tp = TouchpointFactory(tenant=world.a, name="Help line")
    client.force_login(world.alice)
    assert client.post(f"{PAGE}{tp.uuid}/archive/").status_code == 302
    assert not _touchpoints(world.a)["Help line"].is_active
    assert client.post(f"{PAGE}{tp.uuid}/restore/").status_code == 302
    assert _touchpoints(world.a)["Help line"].is_active


def test_a_touchpoint_with_interactions_cannot_be_deleted_only_archived(world, client):
    tp = TouchpointFactory(tenant=world.a, name="Help line")
    InteractionFactory(staff=world.membership(world.bob, world.a), touchpoint=tp)
    client.force_login(world.alice)
    response = client.post(f"{PAGE}{tp.uuid}/delete/", follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert "Help line" in _touchpoints(world.a)


def test_deleting_an_unused_touchpoint_closes_the_gap_on_its_stages(world, client):
    stage = StageFactory(journey=JourneyFactory(tenant=world.a))
    first, gone, last = (TouchpointFactory(tenant=world.a, name=n) for n in ("First", "Gone", "Last"))
    for order, tp in enumerate((first, gone, last), start=1):
        StageTouchpointFactory(stage=stage, touchpoint=tp, order=order)
    client.force_login(world.alice)
    assert client.post(f"{PAGE}{gone.uuid}/delete/").status_code == 302
    assert set(_touchpoints(world.a)) == {"First", "Last"}
    with tenant_context(world.a):
        assert [(p.touchpoint.name, p.order) for p in stage.placements.order_by("order")] == [("First", 1), ("Last", 2)]


# --- API -------------------------------------------------------------------------------------------------------

def test_the_api_lists_and_filters_touchpoints(world, api_client):
    support = _team(world.a)
    TouchpointFactory(tenant=world.a, name="Help line", channel="phone", team=support, is_key=True)
    TouchpointFactory(tenant=world.a, name="Web chat", channel="chat", is_active=False)
    TouchpointFactory(tenant=world.b, name="Globex desk")
    _, key = make_api_key(world.a, role=Role.VIEWER)

    body = api_client.get(API, **_bearer(key)).json()
    assert body["count"] == 2
    help_line = next(r for r in body["results"] if r["name"] == "Help line")
    assert help_line["team"] == str(support.uuid)
    assert help_line["team_name"] == "Support"
    assert help_line["is_key"]
    assert help_line["interactions_last_90_days"] == 0
    assert help_line["placed_on"] == []
    assert isinstance(help_line["id"], str)
    assert len(help_line["id"]) == 36

    def names(**query):
        return {r["name"] for r in api_client.get(API, query, **_bearer(key)).json()["results"]}

    assert names(channel="chat") == {"Web chat"}
    assert names(team=str(support.uuid)) == {"Help line"}
    assert names(is_key="true") == {"Help line"}
    assert names(is_active="false") == {"Web chat"}
    assert names(q="help") == {"Help line"}


def test_the_api_rejects_another_tenants_team_as_a_filter(world, api_client):
    api_client.force_login(world.alice)
    response = api_client.get(API, {"team": str(_team(world.b).uuid)})
    assert response.status_code == 400
    assert "team" in response.json()["error"]["fields"]


def test_the_api_creates_changes_and_archives_a_touchpoint(world, api_client):
    api_client.force_login(world.carol)
    response = api_client.post(API, {"name": "Renewal call", "channel": "phone", "team": str(_team(world.a).uuid)}, format="json")
    assert response.status_code == 201, response.content
    uuid = response.json()["id"]
    assert response.json()["team_name"] == "Support"

    response = api_client.patch(f"{API}{uuid}/", {"is_active": False, "team": None}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["team"] is None

    duplicate = api_client.post(API, {"name": "renewal call", "channel": "email"}, format="json")
    assert duplicate.status_code == 400
    assert "name" in duplicate.json()["error"]["fields"]


def test_the_api_deletes_an_unused_touchpoint_but_answers_409_for_one_in_use(world, api_client):
    unused = TouchpointFactory(tenant=world.a, name="Unused")
    used = TouchpointFactory(tenant=world.a, name="Used")
    InteractionFactory(staff=world.membership(world.bob, world.a), touchpoint=used)
    api_client.force_login(world.alice)

    response = api_client.delete(f"{API}{used.uuid}/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "touchpoint_in_use"
    assert api_client.delete(f"{API}{unused.uuid}/").status_code == 204
    assert set(_touchpoints(world.a)) == {"Used"}


def test_the_api_is_read_only_for_viewers_and_staff(world, api_client):
    tp = TouchpointFactory(tenant=world.a, name="Help line")
    for role in (Role.VIEWER, Role.STAFF):
        _, key = make_api_key(world.a, role=role, name=f"{role} key")
        assert api_client.get(API, **_bearer(key)).status_code == 200
        assert api_client.post(API, {"name": "X", "channel": "phone"}, format="json", **_bearer(key)).status_code == 403
        assert api_client.patch(f"{API}{tp.uuid}/", {"name": "Y"}, format="json", **_bearer(key)).status_code == 403
        assert api_client.delete(f"{API}{tp.uuid}/", **_bearer(key)).status_code == 403
    assert set(_touchpoints(world.a)) == {"Help line"}


def test_the_api_404s_for_another_tenants_touchpoint(world, api_client):
    foreign = TouchpointFactory(tenant=world.b, name="Globex desk")
    api_client.force_login(world.alice)
    for method in ("get", "patch", "delete"):
        assert getattr(api_client, method)(f"{API}{foreign.uuid}/", {}, format="json").status_code == 404
    assert "Globex desk" in _touchpoints(world.b)


def test_the_api_lists_touchpoints_in_a_constant_number_of_queries(world, api_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bob = world.membership(world.bob, world.a)
    journey = JourneyFactory(tenant=world.a)

    def add(n):
        for _ in range(n):
            tp = TouchpointFactory(tenant=world.a, team=TeamFactory(tenant=world.a))
            StageTouchpointFactory(stage=StageFactory(journey=journey), touchpoint=tp)
            InteractionFactory(staff=bob, touchpoint=tp)

    api_client.force_login(world.alice)
    add(3)
    api_client.get(API)
    with CaptureQueriesContext(connection) as few:
        api_client.get(API)
    add(30)
    with CaptureQueriesContext(connection) as many:
        assert api_client.get(API).json()["count"] == 33
    assert len(many.captured_queries) == len(few.captured_queries)
