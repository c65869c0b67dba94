"""Response pages: the list and its filters, the detail, tagging, the export. Two tenants throughout:
B's rows never show in A, a foreign or unknown uuid in a filter is a 400 with the error shown."""

from __future__ import annotations

import csv
import datetime
import io
import uuid

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.surveys.models import Response, ResponseTag, Tag
from apps.surveys.responses.services import response_tag_add, response_tag_remove
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import answer, responses_world

LIST = "/t/acme/responses/"
EXPORT = "/t/acme/responses/export/"


@pytest.fixture
def ns(world):
    return responses_world(world)


def listed(response) -> list[str]:
    return [str(r.uuid) for r in response.context["page"]]


# --- the list ---------------------------------------------------------------------------------

def test_it_lists_the_tenants_responses_newest_first_without_bots(world, ns, client):
    client.force_login(world.victor)  # a viewer reads
    response = client.get(LIST)
    assert response.status_code == 200
    assert listed(response) == [str(r.uuid) for r in (ns.promoter, ns.unhappy, ns.passive, ns.detractor)]
    html = response.content.decode()
    assert "Globex secret comment" not in html
    assert "buy cheap pills" not in html
    assert "NPS 10" in html
    assert "Promoter" in html
    assert "CSAT 2" in html
    assert "Dissatisfied" in html
    assert "Export CSV" not in html  # viewers do not export


def test_it_shows_bot_flagged_responses_only_when_asked(world, ns, client):
    client.force_login(world.carol)
    response = client.get(LIST, {"show_bots": "on"})
    assert str(ns.bot.uuid) in listed(response)
    assert "Bot-flagged" in response.content.decode()


@pytest.mark.parametrize("params,expected", [
    ({"band": "nps_promoter"}, ["promoter"]),
    ({"band": "nps_passive"}, ["passive"]),
    ({"band": "nps_detractor"}, ["detractor"]),
    ({"band": "csat_low"}, ["unhappy"]),
    ({"band": "csat_high"}, []),
    ({"language": "fr"}, ["promoter"]),
    ({"has_comment": "yes"}, ["promoter", "detractor"]),
    ({"has_comment": "no"}, ["unhappy", "passive"]),
    ({"channel": "kiosk"}, ["passive"]),
])
def test_it_filters_the_list(world, ns, client, params, expected):
    client.force_login(world.bob)
    response = client.get(LIST, params)
    assert response.status_code == 200
    assert listed(response) == [str(getattr(ns, name).uuid) for name in expected]


def test_it_filters_by_related_rows(world, ns, client):
    client.force_login(world.bob)
    assert listed(client.get(LIST, {"survey": ns.csat.uuid})) == [str(ns.unhappy.uuid)]
    assert listed(client.get(LIST, {"touchpoint": ns.visit.uuid})) == [str(ns.detractor.uuid)]
    assert listed(client.get(LIST, {"stage": ns.stage.uuid})) == [str(ns.promoter.uuid)]
    tag = f.TagFactory(tenant=world.a, name="Pricing")
    f.ResponseTagFactory(response=ns.passive, tag=tag)
    assert listed(client.get(LIST, {"tag": tag.uuid})) == [str(ns.passive.uuid)]


def test_it_reads_the_date_range_in_the_tenants_time_zone(world, ns, client):
    """Acme is in Brussels: 23:30 UTC on 1 March is 2 March there."""
    late = datetime.datetime(2025, 3, 1, 23, 30, tzinfo=datetime.UTC)
    r = f.ResponseFactory(version=ns.nps_v1, nps=7, submitted_at=late)
    client.force_login(world.bob)
    assert listed(client.get(LIST, {"date_from": "2025-03-02", "date_to": "2025-03-02"})) == [str(r.uuid)]
    assert listed(client.get(LIST, {"date_from": "2025-03-01", "date_to": "2025-03-01"})) == []
    response = client.get(LIST, {"date_from": "2025-03-03", "date_to": "2025-03-01"})
    assert response.status_code == 400
    assert "before the start date" in response.content.decode()


@pytest.mark.parametrize("param", ["survey", "touchpoint", "stage", "tag"])
def test_it_answers_400_to_a_foreign_or_unknown_uuid_in_a_filter(world, ns, client, param):
    foreign = {"survey": ns.b_survey, "touchpoint": ns.b_touchpoint, "stage": ns.b_stage, "tag": ns.b_tag}[param]
    client.force_login(world.alice)
    for value in (foreign.uuid, uuid.uuid4(), "not-a-uuid"):
        response = client.get(LIST, {param: value})
        assert response.status_code == 400, value
        html = response.content.decode()
        assert "Not found in this workspace" in html or "valid" in html
        assert response.context["page"] is None
        assert "Globex" not in html


def test_it_paginates_by_fifty(world, ns, client):
    for _ in range(51):
        f.ResponseFactory(version=ns.csat_v1, nps=None, csat=5)
    client.force_login(world.bob)
    first = client.get(LIST)
    assert len(first.context["page"]) == 50
    assert first.context["page"].paginator.count == 55
    assert len(client.get(LIST, {"page": 2}).context["page"]) == 5


def _queries(client, path, params=None, status=200):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == status
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return len(ctx.captured_queries)


def _grow(world, ns, n):
    bob = world.membership(world.bob, world.a)
    for i in range(n):
        contact = f.ContactFactory(client=f.ClientFactory(tenant=world.a))
        r = f.ResponseFactory(version=ns.nps_v1, nps=i % 11, comment=f"comment {i}", client=contact.client, contact=contact,
                              touchpoint=ns.desk, stage=ns.stage, staff=bob)
        answer(r, "nps", i % 11)
        answer(r, "reason", f"comment {i}")
        f.ResponseTagFactory(response=r)
        f.ResponseTagFactory(response=r)


@pytest.mark.parametrize("path,params", [
    (LIST, {}), (LIST, {"band": "nps_detractor", "has_comment": "yes"}), (EXPORT, {"format": "csv"}), (EXPORT, {"format": "xlsx"}),
    ("/api/v1/t/acme/responses/", {}),
])
def test_the_list_and_export_answer_in_constant_queries(world, ns, client, path, params):
    client.force_login(world.alice)
    _queries(client, path, params)  # the first request after signing in also touches the session
    _grow(world, ns, 3)
    few = _queries(client, path, params)
    _grow(world, ns, 27)
    assert _queries(client, path, params) == few


# --- the detail -------------------------------------------------------------------------------

def test_it_shows_a_response_with_answers_in_its_language_the_interaction_and_the_invitation(world, ns, client):
    client.force_login(world.victor)
    response = client.get(f"/t/acme/responses/{ns.promoter.uuid}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Quelle est la probabilité que vous nous recommandiez ?" in html  # the response was in French
    assert "Quelle est la raison principale de votre note ?" in html
    assert "Quick and friendly" in html
    assert "Reset the portal password" in html
    assert "Bob" in html
    assert "Resolved" in html
    assert response.context["perception_gap"] == -1  # predicted 9, answered 10
    assert "under-estimated" in html
    assert "Invited" in html
    assert "Opened" in html
    assert "Responded" in html
    assert "Add tag" not in html  # viewers read only


def test_it_shows_skipped_questions_and_the_bot_flag(world, ns, client):
    client.force_login(world.bob)
    html = client.get(f"/t/acme/responses/{ns.passive.uuid}/").content.decode()
    assert "What is the main reason for your score?" in html
    assert "Not answered" in html
    html = client.get(f"/t/acme/responses/{ns.bot.uuid}/").content.decode()
    assert "Bot-flagged" in html
    assert "honeypot filled" in html


def test_the_detail_404s_for_another_tenants_response(world, ns, client):
    client.force_login(world.alice)
    assert client.get(f"/t/acme/responses/{ns.b_response.uuid}/").status_code == 404


def test_the_detail_answers_in_constant_queries(world, ns, client):
    client.force_login(world.alice)
    path = f"/t/acme/responses/{ns.promoter.uuid}/"
    f.ResponseTagFactory(response=ns.promoter)
    _queries(client, path)  # the first request after signing in also touches the session
    few = _queries(client, path)
    for _ in range(5):
        f.ResponseTagFactory(response=ns.promoter)
    assert _queries(client, path) == few


# --- tags -------------------------------------------------------------------------------------

def tags_of(response):
    with tenant_context(response.tenant):
        return sorted(ResponseTag.objects.filter(response=response).values_list("tag__name", flat=True))


def test_staff_tag_a_response_creating_the_tag_once_in_any_case(world, ns, client):
    client.force_login(world.bob)
    path = f"/t/acme/responses/{ns.promoter.uuid}/tags/"
    response = client.post(path, {"name": "  Follow   up "})
    assert response.status_code == 302
    assert tags_of(ns.promoter) == ["Follow up"]
    client.post(f"/t/acme/responses/{ns.detractor.uuid}/tags/", {"name": "FOLLOW UP"})
    client.post(path, {"name": "follow up"})  # twice: nothing new
    assert tags_of(ns.detractor) == ["Follow up"]
    assert tags_of(ns.promoter) == ["Follow up"]
    with tenant_context(world.a):
        assert Tag.objects.count() == 1
    with tenant_context(world.b):
        assert list(Tag.objects.values_list("name", flat=True)) == ["Globex tag"]


def test_staff_remove_a_tag_and_the_tag_stays(world, ns, client):
    link = f.ResponseTagFactory(response=ns.promoter)
    f.ResponseTagFactory(response=ns.detractor, tag=link.tag)
    client.force_login(world.bob)
    response = client.post(f"/t/acme/responses/{ns.promoter.uuid}/tags/remove/", {"tag": link.tag.uuid})
    assert response.status_code == 302
    assert tags_of(ns.promoter) == []
    assert tags_of(ns.detractor) == [link.tag.name]


def test_a_foreign_tag_cannot_be_removed(world, ns, client):
    f.ResponseTagFactory(response=ns.b_response, tag=ns.b_tag)
    client.force_login(world.alice)
    response = client.post(f"/t/acme/responses/{ns.promoter.uuid}/tags/remove/", {"tag": ns.b_tag.uuid})
    assert response.status_code == 302
    assert tags_of(ns.b_response) == ["Globex tag"]


def test_an_empty_or_overlong_tag_is_a_400(world, ns, client):
    client.force_login(world.bob)
    for name in ("   ", "x" * 41):
        response = client.post(f"/t/acme/responses/{ns.promoter.uuid}/tags/", {"name": name})
        assert response.status_code == 400
    assert tags_of(ns.promoter) == []


@pytest.mark.parametrize("who,status", [("victor", 403), ("bob", 302), ("carol", 302), ("alice", 302)])
def test_tagging_needs_staff_or_up(world, ns, client, who, status):
    client.force_login(getattr(world, who))
    assert client.post(f"/t/acme/responses/{ns.promoter.uuid}/tags/", {"name": "x"}).status_code == status


def test_the_tag_services_are_idempotent(world, ns):
    with tenant_context(world.a):
        tag, added = response_tag_add(tenant=world.a, acting_member=None, response=ns.promoter, name="VIP")
        again, added_again = response_tag_add(tenant=world.a, acting_member=None, response=ns.promoter, name="vip")
        assert added
        assert not added_again
        assert again.pk == tag.pk
        assert response_tag_remove(tenant=world.a, acting_member=None, response=ns.promoter, tag=tag)
        assert not response_tag_remove(tenant=world.a, acting_member=None, response=ns.promoter, tag=tag)


# --- export -----------------------------------------------------------------------------------

def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_leads_export_one_row_per_response_with_question_columns(world, ns, client):
    f.ResponseTagFactory(response=ns.promoter, tag=f.TagFactory(tenant=world.a, name="Praise"))
    client.force_login(world.carol)
    response = client.get(EXPORT, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="acme-responses-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert [r["response_id"] for r in rows] == [str(x.uuid) for x in (ns.promoter, ns.unhappy, ns.passive, ns.detractor)]
    assert {"q:nps", "q:reason", "q:csat"} <= set(rows[0])
    promoter = rows[0]
    assert promoter["q:nps"] == "10"
    assert promoter["q:reason"] == "Quick and friendly"
    assert promoter["tags"] == "Praise"
    assert promoter["client"] == "Cedar Dental"
    assert promoter["contact_email"] == "jordan@cedar.example"
    assert promoter["submitted_at"].endswith(("+01:00", "+02:00"))  # Brussels time
    assert all("Globex" not in value for row in rows for value in row.values())


def test_the_export_neutralises_formulas(world, ns, client):
    client.force_login(world.alice)
    rows = read_csv(client.get(EXPORT, {"format": "csv", "band": "nps_detractor"}))
    assert len(rows) == 1
    assert rows[0]["comment"].startswith("'=")
    assert rows[0]["q:reason"].startswith("'=")
    response = client.get(EXPORT, {"format": "xlsx", "band": "nps_detractor"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert "'=HYPERLINK(\"http://evil.example\")" in cells
    assert all(not (isinstance(c, str) and c.startswith("=")) for c in cells)
    assert 3 in cells  # numbers stay numbers


def test_the_export_honours_the_filters_and_bots(world, ns, client):
    client.force_login(world.alice)
    rows = read_csv(client.get(EXPORT, {"survey": ns.csat.uuid}))
    assert [r["response_id"] for r in rows] == [str(ns.unhappy.uuid)]
    assert "q:nps" not in rows[0]
    assert rows[0]["q:csat"] == "2"
    rows = read_csv(client.get(EXPORT, {"show_bots": "on", "band": "nps_detractor"}))
    assert {r["response_id"] for r in rows} == {str(ns.detractor.uuid), str(ns.bot.uuid)}


def test_the_export_answers_400_to_a_foreign_filter_or_format(world, ns, client):
    client.force_login(world.alice)
    assert client.get(EXPORT, {"survey": ns.b_survey.uuid}).status_code == 400
    assert client.get(EXPORT, {"format": "pdf"}).status_code == 400


@pytest.mark.parametrize("who,status", [("victor", 403), ("bob", 403), ("carol", 200), ("alice", 200)])
def test_the_export_is_for_leads(world, ns, client, who, status):
    client.force_login(getattr(world, who))
    assert client.get(EXPORT).status_code == status


def test_a_response_is_counted_once_per_tag_filter(world, ns, client):
    """Filtering by a tag joins the tag links: a response with several tags still appears once."""
    tag = f.TagFactory(tenant=world.a, name="One")
    f.ResponseTagFactory(response=ns.promoter, tag=tag)
    f.ResponseTagFactory(response=ns.promoter)
    client.force_login(world.bob)
    assert listed(client.get(LIST, {"tag": tag.uuid})) == [str(ns.promoter.uuid)]
    with tenant_context(world.a):
        assert Response.objects.count() == 5
