"""Journey API: journeys, nested stages and placements (/api/v1/t/<slug>/journeys/…) in the two-tenant world."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tenancy.models import Role
from tests.builders import assert_contiguous, layout, make_journey, placement, snapshot, stage, stage_names
from tests.conftest import make_api_key
from tests.factories import SegmentFactory, StageFactory, StageTouchpointFactory, TouchpointFactory

API = "/api/v1/t/acme/journeys/"


def _bearer(raw_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


# --- journeys ----------------------------------------------------------------------------------------------

def test_it_lists_journeys_with_counts_and_filters(world, api_client):
    segment = SegmentFactory(tenant=world.a, name="SMB")
    journey = make_journey(world.a)
    make_journey(world.a, name="Renewal", stages=("R",))
    make_journey(world.b, name="Globex")
    _, key = make_api_key(world.a, role=Role.VIEWER)
    api_client.force_login(world.alice)
    api_client.patch(f"{API}{journey.uuid}/", {"segment": str(segment.uuid), "status": "active"}, format="json")

    body = api_client.get(API, **_bearer(key)).json()
    assert [j["name"] for j in body["results"]] == ["Onboarding", "Renewal"]
    onboarding = body["results"][0]
    assert onboarding["segment"] == str(segment.uuid)
    assert onboarding["segment_name"] == "SMB"
    assert onboarding["stage_count"] == 3
    assert onboarding["touchpoint_count"] == 6
    assert onboarding["status"] == "active"
    assert [j["name"] for j in api_client.get(API, {"status": "active"}, **_bearer(key)).json()["results"]] == ["Onboarding"]
    assert [j["name"] for j in api_client.get(API, {"segment": str(segment.uuid)}, **_bearer(key)).json()["results"]] == ["Onboarding"]
    response = api_client.get(API, {"segment": str(SegmentFactory(tenant=world.b).uuid)}, **_bearer(key))
    assert response.status_code == 400
    assert "segment" in response.json()["error"]["fields"]


def test_the_detail_nests_stages_and_placements_in_order(world, api_client):
    journey = make_journey(world.a)
    api_client.force_login(world.victor)
    body = api_client.get(f"{API}{journey.uuid}/").json()
    assert [s["name"] for s in body["stages"]] == ["Sign", "Welcome", "First value"]
    assert [s["order"] for s in body["stages"]] == [1, 2, 3]
    welcome = body["stages"][1]
    assert [p["touchpoint_name"] for p in welcome["placements"]] == ["Welcome tp1", "Welcome tp2"]
    assert welcome["placements"][0]["stage"] == welcome["id"] == str(stage(journey, "Welcome").uuid)
    assert welcome["placements"][0]["touchpoint"] == str(placement(journey, "Welcome tp1").touchpoint.uuid)


def test_the_detail_has_a_constant_number_of_queries(world, api_client):
    journey = make_journey(world.a, stages=("A",), per_stage=1)
    api_client.force_login(world.alice)
    api_client.get(f"{API}{journey.uuid}/")
    with CaptureQueriesContext(connection) as few:
        api_client.get(f"{API}{journey.uuid}/")
    for i in range(8):
        s = StageFactory(journey=journey, name=f"S{i}", order=2 + i)
        for j in range(3):
            StageTouchpointFactory(stage=s, order=j + 1, touchpoint=TouchpointFactory(tenant=world.a))
    with CaptureQueriesContext(connection) as many:
        assert len(api_client.get(f"{API}{journey.uuid}/").json()["stages"]) == 9
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_lead_creates_changes_and_deletes_a_journey(world, api_client):
    api_client.force_login(world.carol)
    response = api_client.post(API, {"name": "Onboarding", "description": "From signature to value"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["stages"] == []
    assert body["stage_count"] == 0
    response = api_client.patch(f"{API}{body['id']}/", {"name": "Onboarding v2", "status": "active"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Onboarding v2"
    assert api_client.post(API, {"name": "onboarding V2"}, format="json").status_code == 400
    assert api_client.delete(f"{API}{body['id']}/").status_code == 204
    assert api_client.get(f"{API}{body['id']}/").status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.STAFF])
def test_viewers_and_staff_read_but_cannot_write(world, api_client, role):
    journey = make_journey(world.a)
    s, p = stage(journey, "Welcome"), placement(journey, "Welcome tp1")
    _, key = make_api_key(world.a, role=role)
    auth = _bearer(key)
    before = snapshot(world.a)
    stages, placements = f"{API}{journey.uuid}/stages/", f"{API}{journey.uuid}/stages/{s.uuid}/placements/"
    for path in (API, f"{API}{journey.uuid}/", stages, f"{stages}{s.uuid}/", placements, f"{placements}{p.uuid}/"):
        assert api_client.get(path, **auth).status_code == 200, path
    assert api_client.post(API, {"name": "X"}, format="json", **auth).status_code == 403
    assert api_client.post(stages, {"name": "X"}, format="json", **auth).status_code == 403
    assert api_client.patch(f"{stages}{s.uuid}/", {"order": 1}, format="json", **auth).status_code == 403
    assert api_client.patch(f"{placements}{p.uuid}/", {"order": 2}, format="json", **auth).status_code == 403
    assert api_client.delete(f"{API}{journey.uuid}/", **auth).status_code == 403
    assert snapshot(world.a) == before


# --- stages ------------------------------------------------------------------------------------------------

def test_stages_are_listed_added_moved_and_deleted(world, api_client):
    journey = make_journey(world.a)
    stages = f"{API}{journey.uuid}/stages/"
    api_client.force_login(world.alice)
    assert [s["name"] for s in api_client.get(stages).json()["results"]] == ["Sign", "Welcome", "First value"]

    response = api_client.post(stages, {"name": "Discover", "expected_emotion": "positive", "order": 1}, format="json")
    assert response.status_code == 201
    assert response.json()["order"] == 1
    assert stage_names(journey) == ["Discover", "Sign", "Welcome", "First value"]

    value = stage(journey, "First value")
    response = api_client.patch(f"{stages}{value.uuid}/", {"order": 2, "goal": "Results"}, format="json")
    assert response.status_code == 200
    assert response.json()["order"] == 2
    assert response.json()["goal"] == "Results"
    assert stage_names(journey) == ["Discover", "First value", "Sign", "Welcome"]

    assert api_client.patch(f"{stages}{value.uuid}/", {"order": 9}, format="json").status_code == 400
    assert api_client.delete(f"{stages}{stage(journey, 'Discover').uuid}/").status_code == 204
    assert stage_names(journey) == ["First value", "Sign", "Welcome"]
    assert_contiguous(journey)


def test_a_stage_under_another_journey_or_tenant_is_404(world, api_client):
    journey = make_journey(world.a)
    other = make_journey(world.a, name="Renewal", stages=("X",))
    foreign = make_journey(world.b, name="Globex", stages=("G",))
    api_client.force_login(world.alice)
    x = stage(other, "X")
    before = snapshot(world.a)
    assert api_client.get(f"{API}{journey.uuid}/stages/{x.uuid}/").status_code == 404
    assert api_client.patch(f"{API}{journey.uuid}/stages/{x.uuid}/", {"order": 1}, format="json").status_code == 404
    assert api_client.get(f"{API}{foreign.uuid}/stages/").status_code == 404
    assert api_client.post(f"{API}{foreign.uuid}/stages/", {"name": "Injected"}, format="json").status_code == 404
    assert api_client.get(f"{API}{journey.uuid}/stages/{x.uuid}/placements/").status_code == 404
    assert snapshot(world.a) == before


def test_the_stage_list_has_a_constant_number_of_queries(world, api_client):
    journey = make_journey(world.a, stages=("A",), per_stage=1)
    path = f"{API}{journey.uuid}/stages/"
    api_client.force_login(world.alice)
    api_client.get(path)
    with CaptureQueriesContext(connection) as few:
        api_client.get(path)
    for i in range(10):
        s = StageFactory(journey=journey, name=f"S{i}", order=2 + i)
        StageTouchpointFactory(stage=s, order=1, touchpoint=TouchpointFactory(tenant=world.a))
    with CaptureQueriesContext(connection) as many:
        assert api_client.get(path).json()["count"] == 11
    assert len(many.captured_queries) == len(few.captured_queries)


# --- placements --------------------------------------------------------------------------------------------

def test_placements_are_added_moved_across_stages_and_removed(world, api_client):
    journey = make_journey(world.a)
    sign, welcome = stage(journey, "Sign"), stage(journey, "Welcome")
    new = TouchpointFactory(tenant=world.a, name="Kick-off call")
    api_client.force_login(world.carol)
    base = f"{API}{journey.uuid}/stages/{welcome.uuid}/placements/"

    response = api_client.post(base, {"touchpoint": str(new.uuid), "order": 1, "moment_of_truth": True}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["order"] == 1
    assert response.json()["moment_of_truth"] is True
    assert layout(journey)[1][2] == [("Kick-off call", 1), ("Welcome tp1", 2), ("Welcome tp2", 3)]
    uuid = response.json()["id"]

    response = api_client.patch(f"{base}{uuid}/", {"stage": str(sign.uuid), "order": 2, "expectation": "A call"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == str(sign.uuid)
    assert response.json()["order"] == 2
    rows = layout(journey)
    assert rows[0][2] == [("Sign tp1", 1), ("Kick-off call", 2), ("Sign tp2", 3)]
    assert rows[1][2] == [("Welcome tp1", 1), ("Welcome tp2", 2)]

    # It now lives under Sign: the old URL no longer finds it.
    assert api_client.get(f"{base}{uuid}/").status_code == 404
    sign_base = f"{API}{journey.uuid}/stages/{sign.uuid}/placements/"
    assert api_client.patch(f"{sign_base}{uuid}/", {"order": 1}, format="json").json()["order"] == 1
    assert api_client.delete(f"{sign_base}{uuid}/").status_code == 204
    assert layout(journey)[0][2] == [("Sign tp1", 1), ("Sign tp2", 2)]
    assert_contiguous(journey)


def test_a_placement_cannot_move_to_another_journeys_stage_or_take_a_touchpoint_twice(world, api_client):
    journey = make_journey(world.a)
    other = make_journey(world.a, name="Renewal", stages=("X",))
    sign = stage(journey, "Sign")
    p = placement(journey, "Welcome tp1")
    api_client.force_login(world.alice)
    path = f"{API}{journey.uuid}/stages/{p.stage.uuid}/placements/{p.uuid}/"
    before = snapshot(world.a)

    response = api_client.patch(path, {"stage": str(stage(other, "X").uuid)}, format="json")
    assert response.status_code == 400
    assert "stage" in response.json()["error"]["fields"]
    response = api_client.post(f"{API}{journey.uuid}/stages/{sign.uuid}/placements/",
                               {"touchpoint": str(placement(journey, "Sign tp1").touchpoint.uuid)}, format="json")
    assert response.status_code == 400
    assert "touchpoint" in response.json()["error"]["fields"]
    response = api_client.post(f"{API}{journey.uuid}/stages/{sign.uuid}/placements/",
                               {"touchpoint": str(TouchpointFactory(tenant=world.b).uuid)}, format="json")
    assert response.status_code == 400
    assert "touchpoint" in response.json()["error"]["fields"]
    assert snapshot(world.a) == before


def test_the_placement_list_has_a_constant_number_of_queries(world, api_client):
    journey = make_journey(world.a, stages=("A",), per_stage=1)
    s = stage(journey, "A")
    path = f"{API}{journey.uuid}/stages/{s.uuid}/placements/"
    api_client.force_login(world.alice)
    api_client.get(path)
    with CaptureQueriesContext(connection) as few:
        api_client.get(path)
    for j in range(20):
        StageTouchpointFactory(stage=s, order=2 + j, touchpoint=TouchpointFactory(tenant=world.a))
    with CaptureQueriesContext(connection) as many:
        assert api_client.get(path).json()["count"] == 21
    assert len(many.captured_queries) == len(few.captured_queries)
