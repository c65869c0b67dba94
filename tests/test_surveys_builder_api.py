"""The survey builder API: surveys from a kind's template, settings, the draft's questions (409 on
a published version), publish with per-language validation, pause/resume/close, versions; two
tenants, roles, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.surveys.builder import services as builder
from apps.surveys.models import Answer, Question, Survey, SurveyVersion
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Role
from tests import factories as f
from tests.conftest import make_api_key

pytestmark = pytest.mark.django_db

BASE = "/api/v1/t/acme/"


def api(api_client, user):
    api_client.force_login(user)
    return api_client


def create(api_client, **body):
    body = {"name": "After-visit NPS", "kind": "nps", "languages": ["en", "fr"]} | body
    response = api_client.post(BASE + "surveys/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_it_creates_a_survey_from_a_template(world, api_client):
    with tenant_context(world.a):
        touchpoint = f.TouchpointFactory(tenant=world.a)
    body = create(api(api_client, world.carol), touchpoint=str(touchpoint.uuid), trigger="after_interaction",
                  trigger_delay_minutes=90)
    assert body["status"] == "draft"
    assert body["current_version"] is None
    assert body["live_version"] is None
    assert body["default_language"] == "en"
    assert body["languages"] == ["en", "fr"]
    assert body["touchpoint"] == str(touchpoint.uuid)
    assert body["trigger_delay_minutes"] == 90
    draft = body["draft"]
    assert draft["number"] == 1
    assert not draft["is_published"]
    assert draft["texts"]["fr"]["title"] == "Votre avis sur Acme Advisory"
    assert [q["key"] for q in draft["questions"]] == ["nps", "reason"]
    assert draft["questions"][0]["options"]["min_label"]["fr"] == "Pas du tout probable"


def test_it_validates_the_body(world, api_client):
    api(api_client, world.carol)
    response = api_client.post(BASE + "surveys/", {"name": "x", "kind": "nope", "languages": []}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"kind", "languages"} <= set(fields)
    response = api_client.post(BASE + "surveys/", {"name": "x", "kind": "nps", "languages": ["fr"], "default_language": "en"},
                               format="json")
    assert response.status_code == 400
    assert "default_language" in response.json()["error"]["fields"]


def test_it_lists_and_filters_surveys_of_this_tenant(world, api_client):
    api(api_client, world.carol)
    nps = create(api_client)
    create(api_client, name="Desk smileys", kind="smiley")
    with tenant_context(world.b):
        builder.survey_create(tenant=world.b, acting_user=None, name="Globex", kind="nps", languages=["en"], default_language="en")
    api_client.post(BASE + f"surveys/{nps['id']}/publish/")
    body = api(api_client, world.victor).get(BASE + "surveys/").json()
    assert body["count"] == 2
    assert {s["name"] for s in body["results"]} == {"After-visit NPS", "Desk smileys"}
    assert api_client.get(BASE + "surveys/", {"kind": "smiley"}).json()["count"] == 1
    live = api_client.get(BASE + "surveys/", {"status": "live"}).json()["results"]
    assert [s["name"] for s in live] == ["After-visit NPS"]
    assert live[0]["current_version"] == 1


def test_patch_changes_settings_and_audits(world, api_client):
    survey = create(api(api_client, world.carol))
    response = api_client.patch(BASE + f"surveys/{survey['id']}/", {"reminder_count": 2, "languages": ["en", "fr", "de"]}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reminder_count"] == 2
    assert body["languages"] == ["en", "fr", "de"]
    assert body["draft"]["questions"][0]["text"]["de"].startswith("Wie wahrscheinlich ist es")
    bad = api_client.patch(BASE + f"surveys/{survey['id']}/", {"trigger": "recurring"}, format="json")
    assert bad.status_code == 400
    assert "recurring_months" in bad.json()["error"]["fields"]
    with tenant_context(world.a):
        assert AuditEvent.objects.filter(action="survey.updated").count() == 1


def test_questions_are_edited_in_the_draft_and_published_ones_answer_409(world, api_client):
    survey = create(api(api_client, world.carol))
    sid = survey["id"]
    added = api_client.post(BASE + f"surveys/{sid}/questions/", {
        "type": "single_choice", "key": "topic", "required": False, "order": 2,
        "text": {"en": "What was your visit about?", "fr": "Quel était l'objet de votre visite ?"},
        "options": [{"value": "advice", "label": {"en": "Advice", "fr": "Conseil"}},
                    {"value": "billing", "label": {"en": "Billing", "fr": "Facturation"}}]}, format="json")
    assert added.status_code == 201, added.json()
    listed = api_client.get(BASE + f"surveys/{sid}/questions/").json()
    assert [q["key"] for q in listed["results"]] == ["nps", "topic", "reason"]
    published = api_client.post(BASE + f"surveys/{sid}/publish/")
    assert published.status_code == 201
    assert published.json()["number"] == 1
    assert published.json()["is_published"]
    topic_v1 = added.json()["id"]
    conflict = api_client.patch(BASE + f"surveys/{sid}/questions/{topic_v1}/", {"required": True}, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "version_published"
    assert api_client.delete(BASE + f"surveys/{sid}/questions/{topic_v1}/").status_code == 409
    assert api_client.get(BASE + f"surveys/{sid}/questions/{topic_v1}/").status_code == 200
    # The first edit makes draft v2 by copying v1; its copy of the question can change.
    again = api_client.post(BASE + f"surveys/{sid}/questions/", {"type": "text", "key": "more", "text": {"en": "Anything else?"}},
                            format="json")
    assert again.status_code == 201
    assert again.json()["version"] == 2
    listed = api_client.get(BASE + f"surveys/{sid}/questions/").json()["results"]
    topic_v2 = next(q for q in listed if q["key"] == "topic")
    assert topic_v2["id"] != topic_v1
    assert topic_v2["version"] == 2
    changed = api_client.patch(BASE + f"surveys/{sid}/questions/{topic_v2['id']}/", {"required": True, "order": 1}, format="json")
    assert changed.status_code == 200
    assert changed.json()["required"] is True
    assert changed.json()["order"] == 1
    assert api_client.delete(BASE + f"surveys/{sid}/questions/{topic_v2['id']}/").status_code == 204
    with tenant_context(world.a):
        assert Question.objects.get(uuid=topic_v1).required is False


def test_publish_validates_languages_and_changes_nothing(world, api_client):
    survey = create(api(api_client, world.carol), kind="custom", languages=["en", "fr"])
    sid = survey["id"]
    response = api_client.post(BASE + f"surveys/{sid}/publish/")
    assert response.status_code == 400
    assert "questions" in response.json()["error"]["fields"]
    api_client.post(BASE + f"surveys/{sid}/questions/", {"type": "csat", "text": {"en": "How satisfied were you?"}}, format="json")
    response = api_client.post(BASE + f"surveys/{sid}/publish/")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["fr"]
    assert "the text of question 1 (“csat”)" in fields["fr"][0]
    assert api_client.get(BASE + f"surveys/{sid}/").json()["status"] == "draft"
    with tenant_context(world.a):
        assert not SurveyVersion.objects.filter(published_at__isnull=False).exists()


def test_a_response_stays_on_its_version_after_a_new_publish(world, api_client):
    survey = create(api(api_client, world.carol))
    sid = survey["id"]
    api_client.post(BASE + f"surveys/{sid}/publish/")
    with tenant_context(world.a):
        v1 = SurveyVersion.objects.get(survey__uuid=sid, number=1)
        response = f.ResponseFactory(version=v1, nps=3)
        answer = Answer.objects.create(tenant=world.a, response=response, question=v1.questions.get(key="nps"), value=3)
    nps = api_client.get(BASE + f"surveys/{sid}/questions/").json()["results"][0]
    api_client.post(BASE + f"surveys/{sid}/questions/", {"type": "text", "key": "extra", "text": {"en": "x", "fr": "y"}}, format="json")
    listed = api_client.get(BASE + f"surveys/{sid}/questions/").json()["results"]
    nps2 = next(q for q in listed if q["key"] == "nps")
    assert nps2["id"] != nps["id"]
    api_client.patch(BASE + f"surveys/{sid}/questions/{nps2['id']}/", {"text": {"en": "Recommend us?", "fr": "Nous recommander ?"}},
                     format="json")
    assert api_client.post(BASE + f"surveys/{sid}/publish/").status_code == 201
    versions = api_client.get(BASE + f"surveys/{sid}/versions/").json()
    assert [(v["number"], v["response_count"]) for v in versions["results"]] == [(2, 0), (1, 1)]
    with tenant_context(world.a):
        response.refresh_from_db()
        answer.refresh_from_db()
        assert response.version == v1
        assert answer.question.version == v1
        assert answer.question.text["en"].startswith("How likely")


def test_pause_resume_close_and_delete(world, api_client):
    survey = create(api(api_client, world.carol))
    sid = survey["id"]
    assert api_client.post(BASE + f"surveys/{sid}/pause/").status_code == 400  # not live yet
    api_client.post(BASE + f"surveys/{sid}/publish/")
    assert api_client.post(BASE + f"surveys/{sid}/pause/").json()["status"] == "paused"
    assert api_client.post(BASE + f"surveys/{sid}/resume/").json()["status"] == "live"
    assert api_client.post(BASE + f"surveys/{sid}/close/").json()["status"] == "closed"
    with tenant_context(world.a):
        f.ResponseFactory(version=SurveyVersion.objects.get(survey__uuid=sid))
    conflict = api_client.delete(BASE + f"surveys/{sid}/")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "survey_has_responses"
    other = create(api_client, name="Unused")
    assert api_client.delete(BASE + f"surveys/{other['id']}/").status_code == 204
    with tenant_context(world.a):
        assert list(Survey.objects.values_list("name", flat=True)) == ["After-visit NPS"]
        assert {"survey.created", "survey.published", "survey.paused", "survey.resumed", "survey.closed", "survey.deleted"} <= set(
            AuditEvent.objects.values_list("action", flat=True))


def test_roles(world, api_client):
    survey = create(api(api_client, world.carol))
    for role in (Role.STAFF, Role.VIEWER):
        _, key = make_api_key(world.a, role=role, name=f"{role} key")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert api_client.get(BASE + f"surveys/{survey['id']}/").status_code == 200
        assert api_client.post(BASE + f"surveys/{survey['id']}/publish/").status_code == 403
        assert api_client.post(BASE + "surveys/", {"name": "n", "kind": "nps", "languages": ["en"]}, format="json").status_code == 403
    _, key = make_api_key(world.a, role=Role.CX_LEAD, name="lead key")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api_client.post(BASE + f"surveys/{survey['id']}/publish/")
    assert response.status_code == 201
    assert response.json()["published_by"] is None


def test_another_tenants_survey_is_a_404(world, api_client):
    with tenant_context(world.b):
        survey = builder.survey_create(tenant=world.b, acting_user=None, name="Globex", kind="nps", languages=["en"], default_language="en")
        question = Question.objects.filter(version__survey=survey).first()
    api(api_client, world.alice)
    for path in (f"surveys/{survey.uuid}/", f"surveys/{survey.uuid}/questions/", f"surveys/{survey.uuid}/versions/",
                 f"surveys/{survey.uuid}/questions/{question.uuid}/"):
        assert api_client.get(BASE + path).status_code == 404, path
    assert api_client.post(BASE + f"surveys/{survey.uuid}/publish/").status_code == 404
    with tenant_context(world.b):
        assert not SurveyVersion.objects.filter(published_at__isnull=False).exists()


def _queries(api_client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_do_not_grow_with_rows(world, api_client):
    api(api_client, world.alice)
    survey = create(api_client)

    def grow(n):
        with tenant_context(world.a):
            for i in range(n):
                s = builder.survey_create(tenant=world.a, acting_user=None, name=f"S{n}-{i}", kind="csat", languages=["en"],
                                          default_language="en", touchpoint=f.TouchpointFactory(tenant=world.a))
                v = builder.survey_publish(tenant=world.a, acting_user=None, survey=s)
                f.ResponseFactory(version=v)
                own = builder.draft_get_or_create(tenant=world.a, acting_user=None, survey=Survey.objects.get(uuid=survey["id"]))
                builder.question_create(tenant=world.a, acting_user=None, survey=own.survey, type="text", text={"en": "x", "fr": "y"})
                builder.survey_publish(tenant=world.a, acting_user=None, survey=own.survey)

    paths = ["surveys/", f"surveys/{survey['id']}/questions/", f"surveys/{survey['id']}/versions/"]
    grow(2)
    _queries(api_client, BASE + paths[0])
    few = [_queries(api_client, BASE + p) for p in paths]
    grow(6)
    many = [_queries(api_client, BASE + p) for p in paths]
    assert few == many
