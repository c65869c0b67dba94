"""The responses API: list with filters (foreign or unknown ids → 400), detail with nested answers,
tagging (POST by name, DELETE by tag id), the tag list. Two tenants throughout."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.surveys.models import ResponseTag, Tag
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from tests import factories as f
from tests.builders import responses_world
from tests.conftest import make_api_key

BASE = "/api/v1/t/acme/"


@pytest.fixture
def ns(world):
    return responses_world(world)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def uuids(*responses) -> list[str]:
    return [str(r.uuid) for r in responses]


def test_it_lists_responses_without_bots_by_default(world, ns, api_client):
    api_client.force_login(world.victor)
    body = api_client.get(BASE + "responses/").json()
    assert [r["id"] for r in body["results"]] == uuids(ns.promoter, ns.unhappy, ns.passive, ns.detractor)
    assert body["count"] == 4
    first = body["results"][0]
    assert first["survey"] == str(ns.nps.uuid)
    assert first["version_number"] == 1
    assert first["client"] == str(ns.cedar.uuid)
    assert first["touchpoint"] == str(ns.desk.uuid)
    assert first["stage"] == str(ns.stage.uuid)
    assert first["nps"] == 10
    assert "pk" not in first
    assert isinstance(first["tags"], list)
    assert str(ns.bot.uuid) in ids(api_client.get(BASE + "responses/", {"include_bots": "true"}))


@pytest.mark.parametrize("param,value,expected", [
    ("nps_category", "promoter", ["promoter"]),
    ("nps_category", "passive", ["passive"]),
    ("nps_category", "detractor", ["detractor"]),
    ("score_band", "csat_low", ["unhappy"]),
    ("channel", "kiosk", ["passive"]),
    ("language", "fr", ["promoter"]),
    ("has_comment", "true", ["promoter", "detractor"]),
    ("has_comment", "false", ["unhappy", "passive"]),
])
def test_it_filters_by_value(world, ns, api_client, param, value, expected):
    api_client.force_login(world.bob)
    assert ids(api_client.get(BASE + "responses/", {param: value})) == uuids(*(getattr(ns, n) for n in expected))


def test_it_filters_by_related_ids(world, ns, api_client):
    api_client.force_login(world.bob)
    bob = world.membership(world.bob, world.a)
    tag = f.TagFactory(tenant=world.a, name="Pricing")
    f.ResponseTagFactory(response=ns.detractor, tag=tag)
    for param, value, expected in [("survey", ns.csat.uuid, [ns.unhappy]), ("touchpoint", ns.visit.uuid, [ns.detractor]),
                                   ("stage", ns.stage.uuid, [ns.promoter]), ("client", ns.cedar.uuid, [ns.promoter]),
                                   ("contact", ns.jordan.uuid, [ns.promoter]), ("staff", bob.uuid, [ns.promoter]),
                                   ("tag", tag.uuid, [ns.detractor])]:
        assert ids(api_client.get(BASE + "responses/", {param: value})) == uuids(*expected), param


def test_it_reads_from_and_to_in_the_tenants_time_zone(world, ns, api_client):
    late = datetime.datetime(2025, 3, 1, 23, 30, tzinfo=datetime.UTC)  # 2 March in Brussels
    r = f.ResponseFactory(version=ns.nps_v1, nps=7, submitted_at=late)
    api_client.force_login(world.bob)
    assert ids(api_client.get(BASE + "responses/", {"from": "2025-03-02", "to": "2025-03-02"})) == [str(r.uuid)]
    assert ids(api_client.get(BASE + "responses/", {"from": "2025-03-01", "to": "2025-03-01"})) == []


@pytest.mark.parametrize("param", ["survey", "touchpoint", "stage", "client", "contact", "staff", "tag"])
def test_it_answers_400_to_a_foreign_or_unknown_id_in_a_filter(world, ns, api_client, param):
    foreign = {"survey": ns.b_survey, "touchpoint": ns.b_touchpoint, "stage": ns.b_stage, "tag": ns.b_tag,
               "client": ns.b_response.client or f.ClientFactory(tenant=world.b),
               "contact": f.ContactFactory(client=f.ClientFactory(tenant=world.b)),
               "staff": world.membership(world.charlie, world.b)}[param]
    api_client.force_login(world.alice)
    for value in (foreign.uuid, uuid.uuid4()):
        response = api_client.get(BASE + "responses/", {param: str(value)})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert param in error["fields"]


def test_it_reads_a_response_with_its_answers_in_question_order(world, ns, api_client):
    api_client.force_login(world.victor)
    body = api_client.get(BASE + f"responses/{ns.promoter.uuid}/").json()
    assert body["id"] == str(ns.promoter.uuid)
    assert body["answers"] == [{"question": "nps", "type": "nps", "value": 10},
                               {"question": "reason", "type": "text", "value": "Quick and friendly"}]
    assert body["interaction"] == str(ns.interaction.uuid)
    assert body["predicted_score"] == 9
    assert body["invitation"] == str(ns.invitation.uuid)


def test_it_404s_for_another_tenants_response(world, ns, api_client):
    api_client.force_login(world.alice)
    assert api_client.get(BASE + f"responses/{ns.b_response.uuid}/").status_code == 404
    assert api_client.post(BASE + f"responses/{ns.b_response.uuid}/tags/", {"name": "x"}, format="json").status_code == 404


def test_staff_tag_by_name_and_untag_by_id(world, ns, api_client):
    api_client.force_login(world.bob)
    path = BASE + f"responses/{ns.promoter.uuid}/tags/"
    created = api_client.post(path, {"name": "Pricing"}, format="json")
    assert created.status_code == 201
    assert created.json()["name"] == "Pricing"
    again = api_client.post(path, {"name": "PRICING"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    detail = api_client.get(BASE + f"responses/{ns.promoter.uuid}/").json()
    assert detail["tags"] == [{"id": created.json()["id"], "name": "Pricing"}]
    tags = api_client.get(BASE + "tags/").json()
    assert tags["results"] == [{"id": created.json()["id"], "name": "Pricing", "response_count": 1}]

    removed = api_client.delete(path + created.json()["id"] + "/")
    assert removed.status_code == 204
    assert api_client.delete(path + created.json()["id"] + "/").status_code == 404  # no longer on it
    with tenant_context(world.a):
        assert not ResponseTag.objects.exists()
        assert Tag.objects.filter(name="Pricing").exists()


def test_untagging_a_foreign_tag_or_on_a_foreign_response_404s(world, ns, api_client):
    link = f.ResponseTagFactory(response=ns.b_response, tag=ns.b_tag)
    api_client.force_login(world.alice)
    assert api_client.delete(BASE + f"responses/{ns.promoter.uuid}/tags/{ns.b_tag.uuid}/").status_code == 404
    assert api_client.delete(BASE + f"responses/{ns.b_response.uuid}/tags/{ns.b_tag.uuid}/").status_code == 404
    with tenant_context(world.b):
        assert ResponseTag.objects.filter(pk=link.pk).exists()


def test_a_bad_tag_name_is_a_400(world, ns, api_client):
    api_client.force_login(world.bob)
    for name in ("", "   ", "x" * 41):
        response = api_client.post(BASE + f"responses/{ns.promoter.uuid}/tags/", {"name": name}, format="json")
        assert response.status_code == 400
        assert "name" in response.json()["error"]["fields"]


@pytest.mark.parametrize("role,status", [(Role.VIEWER, 403), (Role.STAFF, 201), (Role.CX_LEAD, 201), (Role.ADMIN, 201)])
def test_tagging_needs_staff_or_up(world, ns, api_client, role, status):
    _, raw = make_api_key(world.a, role=role)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.post(BASE + f"responses/{ns.promoter.uuid}/tags/", {"name": f"t-{role}"}, format="json").status_code == status


def _count(api_client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = api_client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_detail_and_tag_list_answer_in_constant_queries(world, ns, api_client):
    api_client.force_login(world.alice)
    detail = BASE + f"responses/{ns.promoter.uuid}/"
    f.ResponseTagFactory(response=ns.promoter)
    _count(api_client, detail)  # the first request after signing in also touches the session
    few = (_count(api_client, detail), _count(api_client, BASE + "tags/"))
    for _ in range(10):
        link = f.ResponseTagFactory(response=ns.promoter)
        f.ResponseTagFactory(response=ns.passive, tag=link.tag)
    assert (_count(api_client, detail), _count(api_client, BASE + "tags/")) == few
