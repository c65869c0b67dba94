"""Journeys: the list, the editor (stages and placements: add, edit, delete, reorder from the keyboard
and by drag and drop) and the journey map, in the two-tenant world; the ordering rules of the services."""

import json
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.journeys import services
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.tenancy.context import tenant_context
from tests.builders import assert_contiguous, layout, make_journey, placement, snapshot, stage, stage_names
from tests.factories import (
    InteractionFactory,
    JourneyFactory,
    SegmentFactory,
    StageFactory,
    StageTouchpointFactory,
    TouchpointFactory,
)

PAGES = "/t/acme/journeys/"


# --- list and create ---------------------------------------------------------------------------------------

def test_it_lists_journeys_with_status_segment_and_counts(world, client):
    journey = make_journey(world.a)
    with tenant_context(world.a):
        Journey.objects.filter(pk=journey.pk).update(status="active", segment=SegmentFactory(tenant=world.a, name="SMB"))
    make_journey(world.b, name="Globex onboarding")
    client.force_login(world.victor)
    response = client.get(PAGES)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Onboarding" in html
    assert "Globex onboarding" not in html
    row = html[html.index(">Onboarding<"):]
    row = row[:row.index("</tr>")]
    assert "Active" in row
    assert "SMB" in row
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["3", "6"]
    assert "Create journey" not in html
    assert "Edit<" not in html


def test_it_filters_journeys_by_status_and_segment_and_rejects_a_foreign_segment(world, client):
    segment = SegmentFactory(tenant=world.a, name="SMB")
    JourneyFactory(tenant=world.a, name="Onboarding", segment=segment, status="active")
    JourneyFactory(tenant=world.a, name="Renewal")
    client.force_login(world.bob)
    html = client.get(PAGES, {"segment": str(segment.uuid)}).content.decode()
    assert "Onboarding" in html
    assert "Renewal" not in html
    html = client.get(PAGES, {"status": "draft"}).content.decode()
    assert "Renewal" in html
    assert "Onboarding" not in html
    response = client.get(PAGES, {"segment": str(SegmentFactory(tenant=world.b).uuid)})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_it_lists_journeys_in_a_constant_number_of_queries(world, client):
    client.force_login(world.alice)
    for i in range(3):
        make_journey(world.a, name=f"J{i}", stages=(f"J{i} a", f"J{i} b"))
    client.get(PAGES)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGES)
    for i in range(3, 30):
        make_journey(world.a, name=f"J{i}", stages=(f"J{i} a", f"J{i} b", f"J{i} c"), per_stage=1)
    with CaptureQueriesContext(connection) as many:
        assert client.get(PAGES).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_lead_creates_a_journey_and_lands_in_the_editor(world, client):
    client.force_login(world.carol)
    response = client.post(PAGES + "new/", {"name": "Onboarding", "status": "draft"})
    with tenant_context(world.a):
        journey = Journey.objects.get(name="Onboarding")
    assert response.status_code == 302
    assert response["Location"] == f"{PAGES}{journey.uuid}/edit/"
    again = client.post(PAGES + "new/", {"name": "onboarding", "status": "draft"})
    assert again.status_code == 400
    assert "A journey with this name already exists." in again.content.decode()


@pytest.mark.parametrize("who", ["bob", "victor"])
def test_staff_and_viewers_read_maps_but_cannot_edit(world, client, who):
    journey = make_journey(world.a)
    s = stage(journey, "Welcome")
    p = placement(journey, "Welcome tp1")
    before = snapshot(world.a)
    client.force_login(getattr(world, who))
    assert client.get(f"{PAGES}{journey.uuid}/").status_code == 200
    assert client.get(f"{PAGES}{journey.uuid}/edit/").status_code == 403
    for path, data in [(f"{PAGES}new/", {"name": "X"}), (f"{PAGES}{journey.uuid}/stages/new/", {"name": "X"}),
                       (f"{PAGES}{journey.uuid}/stages/{s.uuid}/move/", {"direction": "up"}),
                       (f"{PAGES}{journey.uuid}/placements/{p.uuid}/move/", {"direction": "up"}),
                       (f"{PAGES}{journey.uuid}/stages/{s.uuid}/delete/", {})]:
        assert client.post(path, data).status_code == 403, path
    response = client.post(f"{PAGES}{journey.uuid}/reorder/", json.dumps({"stages": []}), content_type="application/json")
    assert response.status_code == 403
    assert snapshot(world.a) == before


# --- editor: stages -----------------------------------------------------------------------------------------

def test_the_editor_shows_stages_and_placements_in_order(world, client):
    journey = make_journey(world.a)
    client.force_login(world.alice)
    response = client.get(f"{PAGES}{journey.uuid}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    titles = re.findall(r'class="placement-item__pos">\d+\.</span> ([^<]+)</span>', html)
    assert titles == ["Sign tp1", "Sign tp2", "Welcome tp1", "Welcome tp2", "First value tp1", "First value tp2"]
    # The first stage cannot move up, the last cannot move down.
    first, last = stage(journey, "Sign"), stage(journey, "First value")
    assert re.search(rf'id="stage-{first.uuid}-up" disabled', html)
    assert re.search(rf'id="stage-{last.uuid}-down" disabled', html)


def test_the_editor_has_a_constant_number_of_queries(world, client):
    client.force_login(world.alice)
    journey = make_journey(world.a, stages=("A", "B"), per_stage=1)
    path = f"{PAGES}{journey.uuid}/edit/"
    client.get(path)
    with CaptureQueriesContext(connection) as few:
        client.get(path)
    for i in range(10):
        s = StageFactory(journey=journey, name=f"S{i}", order=3 + i)
        for j in range(3):
            StageTouchpointFactory(stage=s, order=j + 1, touchpoint=TouchpointFactory(tenant=world.a))
    with CaptureQueriesContext(connection) as many:
        assert client.get(path).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_lead_adds_edits_and_deletes_stages_and_orders_stay_contiguous(world, client):
    journey = make_journey(world.a, per_stage=1)
    client.force_login(world.carol)
    response = client.post(f"{PAGES}{journey.uuid}/stages/new/", {"name": "Renewal", "goal": "Stay", "expected_emotion": "positive"})
    assert response.status_code == 302
    assert stage_names(journey) == ["Sign", "Welcome", "First value", "Renewal"]

    s = stage(journey, "Welcome")
    response = client.post(f"{PAGES}{journey.uuid}/stages/{s.uuid}/edit/", {"name": "Welcome pack", "goal": "Feel at home",
                                                                            "expected_emotion": "delighted"})
    assert response.status_code == 302
    s = stage(journey, "Welcome pack")
    assert s.goal == "Feel at home"
    assert s.expected_emotion == "delighted"

    assert client.post(f"{PAGES}{journey.uuid}/stages/{s.uuid}/delete/").status_code == 302
    assert stage_names(journey) == ["Sign", "First value", "Renewal"]
    assert_contiguous(journey)


def test_an_invalid_stage_is_answered_400_with_the_error(world, client):
    journey = make_journey(world.a)
    client.force_login(world.alice)
    response = client.post(f"{PAGES}{journey.uuid}/stages/new/", {"name": "", "expected_emotion": "ecstatic"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert len(stage_names(journey)) == 3


def test_a_stage_moves_up_and_down_with_buttons_and_keeps_focus(world, client):
    journey = make_journey(world.a)
    welcome = stage(journey, "Welcome")
    client.force_login(world.alice)

    response = client.post(f"{PAGES}{journey.uuid}/stages/{welcome.uuid}/move/", {"direction": "up"})
    assert response.status_code == 302
    assert stage_names(journey) == ["Welcome", "Sign", "First value"]
    html = client.get(response["Location"]).content.decode()
    # It reached the top, so "Move up" is disabled: focus goes to its "Move down" button instead.
    assert re.search(rf'id="stage-{welcome.uuid}-down" autofocus', html)
    assert "Moved stage “Welcome” to position 1 of 3." in html

    client.post(f"{PAGES}{journey.uuid}/stages/{welcome.uuid}/move/", {"direction": "down"})
    response = client.post(f"{PAGES}{journey.uuid}/stages/{welcome.uuid}/move/", {"direction": "down"})
    assert stage_names(journey) == ["Sign", "First value", "Welcome"]
    html = client.get(response["Location"]).content.decode()
    assert re.search(rf'id="stage-{welcome.uuid}-up" autofocus', html)
    # The focus is for one page view only.
    assert "autofocus" not in client.get(response["Location"]).content.decode()
    # Down from the bottom changes nothing.
    client.post(f"{PAGES}{journey.uuid}/stages/{welcome.uuid}/move/", {"direction": "down"})
    assert stage_names(journey) == ["Sign", "First value", "Welcome"]
    assert_contiguous(journey)


def test_a_stage_of_another_journey_is_404_under_this_journeys_url(world, client):
    journey, other = make_journey(world.a), make_journey(world.a, name="Renewal", stages=("X", "Y"))
    client.force_login(world.alice)
    before = snapshot(world.a)
    response = client.post(f"{PAGES}{journey.uuid}/stages/{stage(other, 'Y').uuid}/move/", {"direction": "up"})
    assert response.status_code == 404
    assert snapshot(world.a) == before


# --- editor: placements -------------------------------------------------------------------------------------

def test_a_lead_places_a_touchpoint_edits_and_removes_it(world, client):
    journey = make_journey(world.a)
    new = TouchpointFactory(tenant=world.a, name="Kick-off call")
    welcome = stage(journey, "Welcome")
    client.force_login(world.carol)
    prefix = f"add-{welcome.uuid.hex}"
    response = client.post(f"{PAGES}{journey.uuid}/stages/{welcome.uuid}/placements/new/",
                           {f"{prefix}-touchpoint": str(new.uuid), f"{prefix}-moment_of_truth": "on",
                            f"{prefix}-expectation": "Someone calls me"})
    assert response.status_code == 302
    p = placement(journey, "Kick-off call")
    assert p.order == 3
    assert p.moment_of_truth
    assert p.expectation == "Someone calls me"

    first = stage(journey, "Sign")
    response = client.post(f"{PAGES}{journey.uuid}/placements/{p.uuid}/edit/",
                           {"stage": str(first.uuid), "expectation": "A call within a day"})
    assert response.status_code == 302
    assert layout(journey)[0][2] == [("Sign tp1", 1), ("Sign tp2", 2), ("Kick-off call", 3)]
    p = placement(journey, "Kick-off call")
    assert not p.moment_of_truth
    assert p.expectation == "A call within a day"

    assert client.post(f"{PAGES}{journey.uuid}/placements/{placement(journey, 'Sign tp1').uuid}/delete/").status_code == 302
    assert layout(journey)[0][2] == [("Sign tp2", 1), ("Kick-off call", 2)]
    assert_contiguous(journey)


def test_placing_another_tenants_touchpoint_or_the_same_one_twice_is_refused(world, client):
    journey = make_journey(world.a)
    welcome = stage(journey, "Welcome")
    foreign = TouchpointFactory(tenant=world.b, name="Globex desk")
    client.force_login(world.alice)
    prefix = f"add-{welcome.uuid.hex}"
    before = snapshot(world.a)
    url = f"{PAGES}{journey.uuid}/stages/{welcome.uuid}/placements/new/"
    assert client.post(url, {f"{prefix}-touchpoint": str(foreign.uuid)}).status_code == 400
    response = client.post(url, {f"{prefix}-touchpoint": str(placement(journey, "Welcome tp1").touchpoint.uuid)})
    assert response.status_code == 400
    assert "is already on the stage" in response.content.decode()
    assert snapshot(world.a) == before


def test_a_placement_moves_within_its_stage_and_to_another_stage_with_buttons(world, client):
    journey = make_journey(world.a)
    p = placement(journey, "Sign tp2")
    client.force_login(world.alice)

    response = client.post(f"{PAGES}{journey.uuid}/placements/{p.uuid}/move/", {"direction": "up"})
    assert layout(journey)[0][2] == [("Sign tp2", 1), ("Sign tp1", 2)]
    html = client.get(response["Location"]).content.decode()
    assert re.search(rf'id="placement-{p.uuid}-down" autofocus', html)

    target = stage(journey, "First value")
    response = client.post(f"{PAGES}{journey.uuid}/placements/{p.uuid}/move/", {"to_stage": str(target.uuid)})
    rows = layout(journey)
    assert rows[0][2] == [("Sign tp1", 1)]
    assert rows[2][2] == [("First value tp1", 1), ("First value tp2", 2), ("Sign tp2", 3)]
    html = client.get(response["Location"]).content.decode()
    assert re.search(rf'id="placement-{p.uuid}-stage" autofocus', html)
    assert_contiguous(journey)


def test_moving_a_placement_to_another_journeys_stage_is_refused(world, client):
    journey, other = make_journey(world.a), make_journey(world.a, name="Renewal", stages=("X",))
    p = placement(journey, "Sign tp1")
    client.force_login(world.alice)
    before = snapshot(world.a)
    client.post(f"{PAGES}{journey.uuid}/placements/{p.uuid}/move/", {"to_stage": str(stage(other, "X").uuid)})
    assert snapshot(world.a) == before


# --- drag and drop endpoint ---------------------------------------------------------------------------------

def reorder(client, journey, body):
    return client.post(f"{PAGES}{journey.uuid}/reorder/", json.dumps(body), content_type="application/json")


def test_the_reorder_endpoint_puts_stages_in_the_given_order(world, client):
    journey = make_journey(world.a)
    sign, welcome, value = (stage(journey, n) for n in ("Sign", "Welcome", "First value"))
    client.force_login(world.carol)
    response = reorder(client, journey, {"stages": [str(value.uuid), str(sign.uuid), str(welcome.uuid)], "moved": str(value.uuid)})
    assert response.status_code == 200
    assert response.json()["message"] == "Moved stage “First value” to position 1 of 3."
    assert f'id="stage-{value.uuid}"' in response.json()["html"]
    assert stage_names(journey) == ["First value", "Sign", "Welcome"]
    assert_contiguous(journey)


@pytest.mark.parametrize("case", ["foreign tenant", "other journey", "unknown", "missing one", "duplicate", "not a uuid"])
def test_the_reorder_endpoint_rejects_ids_not_of_this_journey_and_changes_nothing(world, client, case):
    journey = make_journey(world.a)
    other = make_journey(world.a, name="Renewal", stages=("X",))
    foreign = make_journey(world.b, name="Globex", stages=("G",))
    ids = [str(stage(journey, n).uuid) for n in ("Sign", "Welcome", "First value")]
    ids = {
        "foreign tenant": ids + [str(stage(foreign, "G").uuid)],
        "other journey": ids[:2] + [str(stage(other, "X").uuid)],
        "unknown": ids + ["00000000-0000-4000-8000-000000000000"],
        "missing one": ids[1:],
        "duplicate": ids + ids[:1],
        "not a uuid": ids + ["1"],
    }[case]
    client.force_login(world.alice)
    before, before_b = snapshot(world.a), snapshot(world.b)
    response = reorder(client, journey, {"stages": list(reversed(ids))})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert snapshot(world.a) == before
    assert snapshot(world.b) == before_b


def test_the_reorder_endpoint_reorders_placements_and_moves_them_across_stages(world, client):
    journey = make_journey(world.a)
    welcome = stage(journey, "Welcome")
    w1, w2, s2 = (placement(journey, n) for n in ("Welcome tp1", "Welcome tp2", "Sign tp2"))
    client.force_login(world.alice)
    response = reorder(client, journey, {"stage": str(welcome.uuid), "placements": [str(w2.uuid), str(s2.uuid), str(w1.uuid)],
                                         "moved": str(s2.uuid)})
    assert response.status_code == 200, response.content
    assert response.json()["message"] == "Moved “Sign tp2” to position 2 of 3 in stage “Welcome”."
    rows = layout(journey)
    assert rows[0][2] == [("Sign tp1", 1)]
    assert rows[1][2] == [("Welcome tp2", 1), ("Sign tp2", 2), ("Welcome tp1", 3)]
    assert_contiguous(journey)


@pytest.mark.parametrize("case", ["foreign tenant", "other journey", "left out", "stage of another journey"])
def test_the_reorder_endpoint_rejects_foreign_placements_and_changes_nothing(world, client, case):
    journey = make_journey(world.a)
    other = make_journey(world.a, name="Renewal", stages=("X",))
    foreign = make_journey(world.b, name="Globex", stages=("G",))
    welcome = stage(journey, "Welcome")
    ids = [str(placement(journey, n).uuid) for n in ("Welcome tp1", "Welcome tp2")]
    body = {"stage": str(welcome.uuid), "placements": {
        "foreign tenant": ids + [str(placement(foreign, "G tp1").uuid)],
        "other journey": ids + [str(placement(other, "X tp1").uuid)],
        "left out": ids[:1],
        "stage of another journey": ids,
    }[case]}
    if case == "stage of another journey":
        body["stage"] = str(stage(other, "X").uuid)
    client.force_login(world.alice)
    before, before_b = snapshot(world.a), snapshot(world.b)
    response = reorder(client, journey, body)
    assert response.status_code == 400
    assert snapshot(world.a) == before
    assert snapshot(world.b) == before_b


def test_the_reorder_endpoint_refuses_a_touchpoint_twice_on_a_stage(world, client):
    journey = make_journey(world.a, per_stage=1)
    sign, welcome = stage(journey, "Sign"), stage(journey, "Welcome")
    original = placement(journey, "Sign tp1")
    twin = StageTouchpointFactory(stage=welcome, touchpoint=original.touchpoint, order=2)
    client.force_login(world.alice)
    before = snapshot(world.a)
    body = {"stage": str(sign.uuid), "placements": [str(original.uuid), str(twin.uuid)]}
    assert reorder(client, journey, body).status_code == 400
    assert snapshot(world.a) == before


def test_the_reorder_endpoint_answers_400_to_a_body_that_is_not_json(world, client):
    journey = make_journey(world.a)
    client.force_login(world.alice)
    response = client.post(f"{PAGES}{journey.uuid}/reorder/", "stages=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


# --- services: orders stay 1..n whatever the sequence of edits ------------------------------------------------

def test_random_edits_keep_every_order_contiguous(world):
    journey = make_journey(world.a, stages=("A", "B", "C", "D"), per_stage=3)
    rng = random.Random(4)
    spare = [TouchpointFactory(tenant=world.a, name=f"Spare {i}") for i in range(6)]
    with tenant_context(world.a):
        for step in range(60):
            stages = list(Stage.objects.filter(journey=journey).order_by("order"))
            placements = list(StageTouchpoint.objects.filter(stage__journey=journey).select_related("stage__journey"))
            action = rng.choice(["move_stage", "move_placement", "cross", "add_stage", "delete_placement", "add_placement", "reorder"])
            kw = {"tenant": world.a, "acting_user": world.alice}
            if action == "move_stage":
                services.stage_move(**kw, stage=rng.choice(stages), to_order=rng.randint(1, len(stages)))
            elif action == "move_placement" and placements:
                p = rng.choice(placements)
                count = sum(1 for q in placements if q.stage_id == p.stage_id)
                services.placement_update(**kw, placement=p, order=rng.randint(1, count))
            elif action == "cross" and placements:
                p, target = rng.choice(placements), rng.choice(stages)
                try:
                    services.placement_update(**kw, placement=p, stage=target)
                except services.ValidationError:
                    pass  # the touchpoint is already on that stage
            elif action == "add_stage":
                services.stage_create(**kw, journey=journey, name=f"N{step}", order=rng.randint(1, len(stages) + 1))
            elif action == "delete_placement" and placements:
                services.placement_delete(**kw, placement=rng.choice(placements))
            elif action == "add_placement":
                try:
                    services.placement_create(**kw, stage=rng.choice(stages), touchpoint=rng.choice(spare), order=1)
                except services.ValidationError:
                    pass
            elif action == "reorder":
                uuids = [s.uuid for s in stages]
                rng.shuffle(uuids)
                services.stages_reorder(**kw, journey=journey, stage_uuids=uuids)
    assert_contiguous(journey)


# --- the map --------------------------------------------------------------------------------------------------

def test_the_map_shows_stages_cards_moments_of_truth_and_real_activity(world, client):
    journey = make_journey(world.a)
    with tenant_context(world.a):
        Stage.objects.filter(journey=journey, name="Welcome").update(goal="Feel at home", expected_emotion="anxious")
        StageTouchpoint.objects.filter(touchpoint__name="Welcome tp2").update(moment_of_truth=True, expectation="A named contact")
    bob = world.membership(world.bob, world.a)
    for _ in range(3):
        InteractionFactory(staff=bob, touchpoint=placement(journey, "Welcome tp1").touchpoint)
    client.force_login(world.victor)
    response = client.get(f"{PAGES}{journey.uuid}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Sign tp1") < html.index("Welcome tp1") < html.index("First value tp2")
    welcome = stage(journey, "Welcome")
    column = html[html.index(f'id="map-stage-{welcome.uuid}"'):]
    column = column[:column.index('class="stage-metrics"') + 300]
    assert "Feel at home" in column
    assert "Feels Anxious" in column
    assert "Moment of truth" in column
    assert "A named contact" in column
    assert f'<div class="stage-metrics" data-stage="{welcome.uuid}">' in column
    assert '<span class="stage-metrics__value">3</span> interactions' in column
    assert "Edit journey" not in html  # a viewer reads only


def test_the_map_has_a_constant_number_of_queries(world, client):
    client.force_login(world.alice)
    journey = make_journey(world.a, stages=("A",), per_stage=1)
    path = f"{PAGES}{journey.uuid}/"
    client.get(path)
    with CaptureQueriesContext(connection) as few:
        client.get(path)
    bob = world.membership(world.bob, world.a)
    for i in range(8):
        s = StageFactory(journey=journey, name=f"S{i}", order=2 + i)
        for j in range(3):
            tp = TouchpointFactory(tenant=world.a)
            StageTouchpointFactory(stage=s, order=j + 1, touchpoint=tp, moment_of_truth=j == 0)
            InteractionFactory(staff=bob, touchpoint=tp)
    with CaptureQueriesContext(connection) as many:
        assert client.get(path).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_map_of_another_tenants_journey_is_404(world, client):
    foreign = make_journey(world.b, name="Globex")
    client.force_login(world.alice)
    assert client.get(f"{PAGES}{foreign.uuid}/").status_code == 404
    assert client.get(f"{PAGES}{foreign.uuid}/edit/").status_code == 404
