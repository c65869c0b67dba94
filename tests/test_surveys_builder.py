"""Building surveys (issue 5, items 1–5): kinds' templates, the draft, publishing immutable
versions, per-language validation, pause/resume/close, and the builder pages in a two-tenant world."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.surveys import kinds
from apps.surveys.builder import services as builder
from apps.surveys.builder.selectors import survey_is_open
from apps.surveys.models import Answer, PublishedVersionIsImmutable, Question, Response, Survey, SurveyVersion
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


def make_survey(world, tenant=None, user=None, **kwargs):
    tenant = tenant or world.a
    defaults = dict(name="After-visit NPS", kind="nps", languages=["en", "fr"], default_language="en")
    with tenant_context(tenant):
        return builder.survey_create(tenant=tenant, acting_user=user or world.carol, **(defaults | kwargs))


def publish(world, survey, tenant=None):
    tenant = tenant or world.a
    with tenant_context(tenant):
        return builder.survey_publish(tenant=tenant, acting_user=world.carol, survey=survey)


# --- kinds ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["nps", "csat", "ces", "smiley", "enps"])
def test_every_kind_template_is_worded_in_every_language(kind):
    template = kinds.SURVEY_TEMPLATES[kind]
    scored, reason = template["questions"]
    assert reason["key"] == "reason"
    assert reason["type"] == "text"
    assert reason["required"] is False
    for lang in kinds.LANGUAGE_CODES:
        assert template["texts"][lang]["title"]
        assert template["texts"][lang]["thanks"]
        assert scored["text"][lang]
        assert reason["text"][lang]
        if scored["type"] != "smiley":
            assert scored["options"]["min_label"][lang]
            assert scored["options"]["max_label"][lang]
        else:
            assert scored["options"] == {}
            assert len(kinds.POINT_LABELS["smiley"][lang]) == 3


def test_the_standard_wording_is_the_standard_one():
    t = kinds.SURVEY_TEMPLATES
    assert t["nps"]["questions"][0]["text"]["en"] == "How likely is it that you would recommend {company} to a friend or colleague?"
    assert t["nps"]["questions"][0]["options"]["min_label"]["en"] == "Not at all likely"
    assert t["nps"]["questions"][0]["options"]["max_label"]["en"] == "Extremely likely"
    assert t["csat"]["questions"][0]["text"]["en"].startswith("How satisfied were you with")
    assert t["csat"]["questions"][0]["options"]["min_label"]["en"] == "Very unsatisfied"
    assert t["csat"]["questions"][0]["options"]["max_label"]["en"] == "Very satisfied"
    assert t["ces"]["questions"][0]["text"]["en"] == "{company} made it easy for me to handle my issue."
    assert [t["ces"]["questions"][0]["options"][k]["en"] for k in ("min_label", "max_label")] == ["Strongly disagree", "Strongly agree"]
    assert t["smiley"]["questions"][0]["text"]["en"] == "How was your experience today?"
    assert t["enps"]["questions"][0]["text"]["en"] == "How likely is it that you would recommend {company} as a place to work?"
    assert t["enps"]["questions"][0]["type"] == "nps"
    assert t["custom"]["questions"] == []
    assert t["nps"]["questions"][1]["text"]["en"] == "What is the main reason for your score?"


# --- create, draft, publish ----------------------------------------------------------------------

def test_it_creates_a_survey_with_a_draft_worded_for_the_tenant(world):
    survey = make_survey(world)
    with tenant_context(world.a):
        survey = Survey.objects.get(pk=survey.pk)
        assert survey.status == "draft"
        assert survey.current_version is None
        assert survey.web_token
        version = SurveyVersion.objects.get(survey=survey)
        assert version.number == 1
        assert version.published_at is None
        questions = list(version.questions.order_by("order"))
        assert [q.key for q in questions] == ["nps", "reason"]
        assert questions[0].text["en"] == "How likely is it that you would recommend Acme Advisory to a friend or colleague?"
        assert questions[0].text["fr"].startswith("Quelle est la probabilité que vous recommandiez Acme Advisory")
        assert set(questions[0].text) == {"en", "fr"}
        assert version.texts["fr"]["title"] == "Votre avis sur Acme Advisory"
        assert AuditEvent.objects.filter(action="survey.created", target_id=str(survey.uuid)).exists()
    with tenant_context(world.b):
        assert not Survey.objects.exists()


def test_it_can_leave_out_the_follow_up_question(world):
    survey = make_survey(world, kind="csat", include_follow_up=False)
    with tenant_context(world.a):
        assert list(Question.objects.filter(version__survey=survey).values_list("key", flat=True)) == ["csat"]


def test_it_refuses_a_default_language_the_survey_does_not_offer(world):
    with pytest.raises(ValidationError) as exc:
        make_survey(world, languages=["fr"], default_language="en")
    assert "default_language" in exc.value.message_dict
    with pytest.raises(ValidationError):
        make_survey(world, languages=[], default_language="en")
    with pytest.raises(ValidationError):
        make_survey(world, languages=["en", "xx"], default_language="en")


def test_names_are_unique_in_a_tenant_not_across_tenants(world):
    make_survey(world)
    with pytest.raises(ValidationError):
        make_survey(world, name="after-visit nps")
    make_survey(world, tenant=world.b, user=world.charlie)


def test_publish_creates_an_immutable_version_and_goes_live(world):
    survey = make_survey(world)
    version = publish(world, survey)
    with tenant_context(world.a):
        survey.refresh_from_db()
        assert survey.status == "live"
        assert survey.current_version == version
        assert version.published_at
        assert version.published_by.user == world.carol
        assert survey_is_open(survey, timezone.now())
        version.texts = {"en": {"title": "changed"}}
        with pytest.raises(PublishedVersionIsImmutable):
            version.save()
        question = version.questions.first()
        question.text = {"en": "changed"}
        with pytest.raises(PublishedVersionIsImmutable):
            question.save()
        with pytest.raises(PublishedVersionIsImmutable):
            builder.question_update(tenant=world.a, acting_user=world.carol, question=question, text={"en": "changed"})
        with pytest.raises(PublishedVersionIsImmutable):
            builder.question_delete(tenant=world.a, acting_user=world.carol, question=question)
        assert AuditEvent.objects.filter(action="survey.published").count() == 1


def test_editing_a_live_survey_makes_a_new_draft_and_old_responses_keep_their_version(world):
    survey = make_survey(world)
    v1 = publish(world, survey)
    with tenant_context(world.a):
        q1 = v1.questions.get(key="nps")
        response = f.ResponseFactory(version=v1, nps=9)
        answer = Answer.objects.create(tenant=world.a, response=response, question=q1, value=9)
        draft = builder.draft_get_or_create(tenant=world.a, acting_user=world.carol, survey=survey)
        assert draft.number == 2
        assert draft.published_at is None
        assert [q.key for q in draft.questions.order_by("order")] == ["nps", "reason"]
        assert draft.texts == v1.texts
        copy = builder.draft_question_for(tenant=world.a, acting_user=world.carol, survey=survey, question=q1)
        assert copy.version == draft
        assert copy.pk != q1.pk
        builder.question_update(tenant=world.a, acting_user=world.carol, question=copy,
                                text={"en": "Would you recommend us?", "fr": "Nous recommanderiez-vous ?"})
        assert builder.draft_get_or_create(tenant=world.a, acting_user=world.carol, survey=survey) == draft  # one draft
    v2 = publish(world, survey)
    with tenant_context(world.a):
        survey.refresh_from_db()
        assert v2 == draft
        assert survey.current_version == v2
        response.refresh_from_db()
        answer.refresh_from_db()
        q1.refresh_from_db()
        assert response.version == v1
        assert answer.question == q1
        assert answer.value == 9
        assert q1.text["en"].startswith("How likely is it")
        assert q1.version == v1
        assert v2.questions.get(key="nps").text["en"] == "Would you recommend us?"


def test_publish_validates_every_language_and_changes_nothing_on_failure(world):
    survey = make_survey(world, kind="custom", languages=["en", "fr", "de"])
    with tenant_context(world.a):
        with pytest.raises(ValidationError) as exc:
            builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=survey)
        assert "questions" in exc.value.message_dict
        builder.question_create(tenant=world.a, acting_user=world.carol, survey=survey, type="single_choice", key="topic",
                                text={"en": "What was it about?", "fr": "De quoi s'agissait-il ?"},
                                options=[{"value": "price", "label": {"en": "Price", "fr": "Prix", "de": "Preis"}},
                                         {"value": "service", "label": {"en": "Service", "de": "Service"}}])
        builder.version_texts_update(tenant=world.a, acting_user=world.carol, survey=survey, texts={"de": {"title": ""}})
        with pytest.raises(ValidationError) as exc:
            builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=survey)
        errors = exc.value.message_dict
        assert set(errors) == {"fr", "de"}
        assert "choice 2 label of question 1 (“topic”)" in errors["fr"][0]
        assert "Français (fr)" in errors["fr"][0]
        assert "the title" in errors["de"][0]
        assert "the text of question 1" in errors["de"][0]
        survey.refresh_from_db()
        assert survey.status == "draft"
        assert survey.current_version is None
        assert not SurveyVersion.objects.filter(survey=survey, published_at__isnull=False).exists()
        assert not AuditEvent.objects.filter(action="survey.published").exists()


def test_pause_resume_close(world):
    survey = make_survey(world)
    with tenant_context(world.a):
        with pytest.raises(ValidationError):
            builder.survey_pause(tenant=world.a, acting_user=world.carol, survey=survey)  # not live yet
    publish(world, survey)
    now = timezone.now()
    with tenant_context(world.a):
        survey = builder.survey_pause(tenant=world.a, acting_user=world.carol, survey=survey)
        assert survey.status == "paused"
        assert not survey_is_open(survey, now)
        survey = builder.survey_resume(tenant=world.a, acting_user=world.carol, survey=survey)
        assert survey.status == "live"
        assert survey_is_open(survey, now)
        survey = builder.survey_close(tenant=world.a, acting_user=world.carol, survey=survey)
        assert survey.status == "closed"
        assert not survey_is_open(survey, now)
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"survey.paused", "survey.resumed", "survey.closed"} <= actions


def test_survey_is_open_within_its_dates(world):
    survey = make_survey(world)
    publish(world, survey)
    now = timezone.now()
    with tenant_context(world.a):
        survey.refresh_from_db()
        survey.opens_at, survey.closes_at = now + timezone.timedelta(days=1), now + timezone.timedelta(days=2)
        assert not survey_is_open(survey, now)
        assert survey_is_open(survey, now + timezone.timedelta(days=1))
        assert not survey_is_open(survey, now + timezone.timedelta(days=2))


def test_adding_a_language_fills_the_draft_with_the_standard_wording(world):
    survey = make_survey(world, languages=["en"])
    publish(world, survey)
    with tenant_context(world.a):
        builder.survey_update(tenant=world.a, acting_user=world.carol, survey=survey, languages=["en", "nl"])
        draft = SurveyVersion.objects.get(survey=survey, published_at=None)
        assert draft.texts["nl"]["title"] == "Uw mening over Acme Advisory"
        nps = draft.questions.get(key="nps")
        assert nps.text["nl"].startswith("Hoe waarschijnlijk")
        assert nps.options["max_label"]["nl"] == "Zeer waarschijnlijk"
        survey.refresh_from_db()
        assert "nl" not in survey.current_version.texts


def test_questions_add_move_delete_in_the_draft(world):
    survey = make_survey(world)
    with tenant_context(world.a):
        q = builder.question_create(tenant=world.a, acting_user=world.carol, survey=survey, type="rating",
                                    text={"en": "Rate the waiting time", "fr": "Notez le temps d'attente"},
                                    options={"min": 1, "max": 10}, order=1)
        keys = lambda: list(Question.objects.filter(version__survey=survey).order_by("order").values_list("key", flat=True))  # noqa: E731
        assert keys() == ["rating", "nps", "reason"]
        builder.question_move(tenant=world.a, acting_user=world.carol, question=q, to_order=3)
        assert keys() == ["nps", "reason", "rating"]
        with pytest.raises(ValidationError):
            builder.question_create(tenant=world.a, acting_user=world.carol, survey=survey, type="text", key="nps", text={"en": "x"})
        with pytest.raises(ValidationError):
            builder.question_create(tenant=world.a, acting_user=world.carol, survey=survey, type="rating", text={"en": "x"},
                                    options={"min": 5, "max": 2})
        builder.question_delete(tenant=world.a, acting_user=world.carol, question=Question.objects.get(version__survey=survey, key="nps"))
        assert keys() == ["reason", "rating"]
        assert list(Question.objects.filter(version__survey=survey).order_by("order").values_list("order", flat=True)) == [1, 2]


def test_delete_only_without_responses(world):
    survey = make_survey(world)
    v1 = publish(world, survey)
    with tenant_context(world.a):
        f.InvitationFactory(survey=survey, version=v1)
        builder.survey_delete(tenant=world.a, acting_user=world.carol, survey=survey)
        assert not Survey.objects.filter(pk=survey.pk).exists()
    other = make_survey(world, name="Kept")
    v = publish(world, other)
    with tenant_context(world.a):
        f.ResponseFactory(version=v)
        with pytest.raises(ValidationError):
            builder.survey_delete(tenant=world.a, acting_user=world.carol, survey=other)
        assert Survey.objects.filter(pk=other.pk).exists()
        assert Response.objects.count() == 1


def url(name, **kwargs):
    return reverse(f"surveys:{name}", kwargs={"tenant_slug": "acme", **kwargs})


# --- pages ---------------------------------------------------------------------------------------

def test_the_list_shows_surveys_of_this_tenant_only(world, client):
    survey = make_survey(world)
    publish(world, survey)
    make_survey(world, tenant=world.b, user=world.charlie, name="Globex only")
    with tenant_context(world.a):
        f.ResponseFactory(version=survey.current_version if survey.current_version else Survey.objects.get(pk=survey.pk).current_version)
    client.force_login(world.victor)
    response = client.get(url("list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "After-visit NPS" in body
    assert "Globex only" not in body
    assert "v1" in body
    assert "Net Promoter Score" in body


def test_the_list_filter_rejects_another_tenants_touchpoint(world, client):
    with tenant_context(world.b):
        foreign = f.TouchpointFactory(tenant=world.b)
    client.force_login(world.alice)
    response = client.get(url("list"), {"touchpoint": str(foreign.uuid)})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_lead_creates_a_survey_in_two_languages(world, client):
    with tenant_context(world.a):
        touchpoint = f.TouchpointFactory(tenant=world.a, name="Help line")
    client.force_login(world.carol)
    assert client.get(url("create")).status_code == 200
    response = client.post(url("create"), {"name": "Help line CES", "kind": "ces", "languages": ["en", "fr"], "default_language": "fr",
                                           "touchpoint": str(touchpoint.uuid), "include_follow_up": "on"})
    assert response.status_code == 302
    with tenant_context(world.a):
        survey = Survey.objects.get(name="Help line CES")
        assert survey.languages == ["fr", "en"]
        assert survey.touchpoint == touchpoint
        assert survey.versions.get().questions.get(key="ces").text["fr"] == "Acme Advisory m'a facilité le traitement de ma demande."
    assert response["Location"] == url("edit", uuid=survey.uuid)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Draft version 1" in page.content.decode()


def test_create_errors_rerender_with_400(world, client):
    client.force_login(world.carol)
    response = client.post(url("create"), {"name": "", "kind": "nps", "languages": ["fr"], "default_language": "en"})
    assert response.status_code == 400
    assert "The default language must be one of the languages offered." in response.content.decode()


def test_staff_and_viewers_cannot_build(world, client):
    survey = make_survey(world)
    for user in (world.bob, world.victor):
        client.force_login(user)
        assert client.get(url("create")).status_code == 403
        assert client.get(url("edit", uuid=survey.uuid)).status_code == 403
        assert client.post(url("publish", uuid=survey.uuid)).status_code == 403
        assert client.get(url("preview", uuid=survey.uuid)).status_code == 200
        assert client.get(url("versions", uuid=survey.uuid)).status_code == 200
    with tenant_context(world.a):
        assert not SurveyVersion.objects.filter(published_at__isnull=False).exists()


def test_another_tenants_survey_is_a_404(world, client):
    survey = make_survey(world, tenant=world.b, user=world.charlie)
    client.force_login(world.alice)
    for name in ("edit", "preview", "versions", "publish"):
        assert client.get(url(name, uuid=survey.uuid)).status_code == 404
    assert client.post(url("pause", uuid=survey.uuid)).status_code == 404


def test_editing_a_question_of_a_live_survey_on_the_page_makes_a_draft(world, client):
    survey = make_survey(world)
    v1 = publish(world, survey)
    with tenant_context(world.a):
        q1 = v1.questions.get(key="nps")
    client.force_login(world.carol)
    page = client.get(url("edit", uuid=survey.uuid)).content.decode()
    assert "Live version 1" in page
    assert "makes a new draft (v2)" in page
    edit_url = url("question_edit", survey_uuid=survey.uuid, uuid=q1.uuid)
    form = client.get(edit_url)
    assert form.status_code == 200
    assert "Saving makes a new draft" in form.content.decode()
    response = client.post(edit_url, {"type": "nps", "key": "nps", "required": "on",
                                      "text_en": "Would you recommend Acme to a colleague?", "text_fr": "Recommanderiez-vous Acme ?",
                                      "min_label_en": "Not at all likely", "max_label_en": "Extremely likely",
                                      "min_label_fr": "Pas du tout probable", "max_label_fr": "Extrêmement probable"})
    assert response.status_code == 302, response.content.decode()
    with tenant_context(world.a):
        draft = SurveyVersion.objects.get(survey=survey, published_at=None)
        assert draft.number == 2
        assert draft.questions.get(key="nps").text == {"en": "Would you recommend Acme to a colleague?", "fr": "Recommanderiez-vous Acme ?"}
        q1.refresh_from_db()
        assert q1.text["en"].startswith("How likely")
    page = client.get(url("edit", uuid=survey.uuid)).content.decode()
    assert "Draft version 2" in page
    assert "Would you recommend Acme to a colleague?" in page
    publish_page = client.get(url("publish", uuid=survey.uuid)).content.decode()
    assert "What changes from v1 to v2" in publish_page
    assert "Recommanderiez-vous Acme ?" in publish_page


def test_adding_moving_and_deleting_questions_on_the_page(world, client):
    survey = make_survey(world)
    client.force_login(world.carol)
    response = client.post(url("question_create", uuid=survey.uuid), {
        "type": "single_choice", "key": "topic", "text_en": "What was it about?", "text_fr": "De quoi s'agissait-il ?",
        "choices_en": "Price\nService\nAdvice", "choices_fr": "Prix\nService\nConseil"})
    assert response.status_code == 302, response.content.decode()
    with tenant_context(world.a):
        topic = Question.objects.get(version__survey=survey, key="topic")
        assert topic.order == 3
        assert topic.required is False
        assert topic.options == [{"value": "price", "label": {"en": "Price", "fr": "Prix"}},
                                 {"value": "service", "label": {"en": "Service", "fr": "Service"}},
                                 {"value": "advice", "label": {"en": "Advice", "fr": "Conseil"}}]
    bad = client.post(url("question_create", uuid=survey.uuid), {"type": "single_choice", "text_en": "x", "choices_en": "A\nB",
                                                                 "choices_fr": "A"})
    assert bad.status_code == 400
    assert "Give 2 choices here too" in bad.content.decode()
    move = client.post(url("question_move", survey_uuid=survey.uuid, uuid=topic.uuid), {"direction": "up"})
    assert move.status_code == 302
    page = client.get(url("edit", uuid=survey.uuid)).content.decode()
    assert f'id="q-{topic.uuid}-up" autofocus' in page
    with tenant_context(world.a):
        assert list(Question.objects.filter(version__survey=survey).order_by("order").values_list("key", flat=True)) == ["nps", "topic", "reason"]
    client.post(url("question_delete", survey_uuid=survey.uuid, uuid=topic.uuid))
    with tenant_context(world.a):
        assert not Question.objects.filter(key="topic").exists()


def test_publish_page_lists_what_is_missing_per_language_and_publishes_nothing(world, client):
    survey = make_survey(world)
    with tenant_context(world.a):
        builder.version_texts_update(tenant=world.a, acting_user=world.carol, survey=survey, texts={"fr": {"title": ""}})
    client.force_login(world.carol)
    response = client.post(url("publish", uuid=survey.uuid))
    assert response.status_code == 400
    assert "Français (fr) is missing the title" in response.content.decode()
    with tenant_context(world.a):
        assert Survey.objects.get(pk=survey.pk).status == "draft"
    client.post(url("texts", uuid=survey.uuid), {"title_en": "Your feedback", "intro_en": "", "thanks_en": "Thanks!",
                                                 "title_fr": "Votre avis", "intro_fr": "", "thanks_fr": "Merci !"})
    response = client.post(url("publish", uuid=survey.uuid))
    assert response.status_code == 302
    with tenant_context(world.a):
        survey.refresh_from_db()
        assert survey.status == "live"
        assert survey.current_version.texts["fr"]["title"] == "Votre avis"


def test_preview_renders_the_respondent_page_in_the_chosen_language_and_version(world, client):
    survey = make_survey(world, kind="csat")
    client.force_login(world.bob)
    page = client.get(url("preview", uuid=survey.uuid), {"lang": "fr"}).content.decode()
    assert '<html lang="fr">' in page
    assert "css/respond.css" in page
    assert "Dans quelle mesure avez-vous été satisfait du service fourni par Acme Advisory ?" in page
    assert "Très insatisfait" in page
    assert 'type="radio"' in page
    assert "<legend" in page
    assert client.get(url("preview", uuid=survey.uuid), {"version": "9"}).status_code == 404
    assert client.get(url("preview", uuid=survey.uuid), {"lang": "xx"}).status_code == 200  # falls back to the default
    # Submitting validates like the real page and records nothing.
    invalid = client.post(url("preview", uuid=survey.uuid) + "?lang=fr", {"lang": "fr"})
    assert invalid.status_code == 400
    assert "error-summary" in invalid.content.decode()
    valid = client.post(url("preview", uuid=survey.uuid) + "?lang=en", {"lang": "en", "q_csat": "4"})
    assert valid.status_code == 200
    assert "Nothing was recorded" in valid.content.decode()
    with tenant_context(world.a):
        assert not Response.objects.exists()


def test_pause_resume_close_pages_and_audit(world, client):
    survey = make_survey(world)
    publish(world, survey)
    client.force_login(world.carol)
    for name, status in (("pause", "paused"), ("resume", "live"), ("close", "closed")):
        assert client.post(url(name, uuid=survey.uuid)).status_code == 302
        with tenant_context(world.a):
            assert Survey.objects.get(pk=survey.pk).status == status
    assert client.get(url("pause", uuid=survey.uuid)).status_code == 405


def test_versions_page_and_an_old_versions_questions(world, client):
    survey = make_survey(world)
    v1 = publish(world, survey)
    with tenant_context(world.a):
        f.ResponseFactory(version=v1)
        builder.draft_get_or_create(tenant=world.a, acting_user=world.carol, survey=survey)
    client.force_login(world.victor)
    page = client.get(url("versions", uuid=survey.uuid)).content.decode()
    assert "v1" in page
    assert "v2" in page
    assert "Carol" in page
    detail = client.get(url("version_detail", survey_uuid=survey.uuid, uuid=v1.uuid)).content.decode()
    assert "read-only" in detail
    assert "How likely is it that you would recommend Acme Advisory" in detail


def test_list_and_versions_pages_do_not_grow_with_rows(world, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    survey = make_survey(world, name="Growing")
    client.force_login(world.alice)

    def grow(n):
        with tenant_context(world.a):
            for i in range(n):
                s = builder.survey_create(tenant=world.a, acting_user=None, name=f"S{n}-{i}", kind="csat", languages=["en"],
                                          default_language="en", touchpoint=f.TouchpointFactory(tenant=world.a),
                                          stage=f.StageFactory(journey=f.JourneyFactory(tenant=world.a)))
                f.ResponseFactory(version=builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=s))
                builder.question_create(tenant=world.a, acting_user=None, survey=survey, type="text", text={"en": "x", "fr": "y"})
                f.ResponseFactory(version=builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=survey))

    def queries(path):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    paths = [url("list"), url("versions", uuid=survey.uuid), url("edit", uuid=survey.uuid), url("preview", uuid=survey.uuid)]
    grow(2)
    queries(paths[0])
    few = [queries(p) for p in paths]
    grow(6)
    assert [queries(p) for p in paths] == few


def test_the_settings_form_saves_and_rejects_what_the_model_refuses(world, client):
    survey = make_survey(world)
    with tenant_context(world.a):
        segment = f.SegmentFactory(tenant=world.a, name="Key accounts")
    client.force_login(world.carol)
    settings = {"name": "After-visit NPS", "languages": ["en", "fr"], "default_language": "en", "trigger": "after_interaction",
                "trigger_delay_minutes": "120", "reminder_count": "1", "reminder_interval_days": "3", "invitation_valid_days": "30"}
    bad = client.post(url("edit", uuid=survey.uuid), settings)
    assert bad.status_code == 400
    assert "An after-interaction survey listens to one touchpoint" in bad.content.decode()
    good = client.post(url("edit", uuid=survey.uuid), settings | {
        "trigger": "recurring", "recurring_months": "6", "recurring_segment": str(segment.uuid), "opens_at": "2026-01-05T09:00",
        "web_link_enabled": "on"})
    assert good.status_code == 302
    with tenant_context(world.a):
        survey.refresh_from_db()
        assert survey.trigger == "recurring"
        assert survey.recurring_segment == segment
        assert survey.web_link_enabled
        assert survey.opens_at.isoformat() == "2026-01-05T08:00:00+00:00"  # 09:00 in Brussels
        assert AuditEvent.objects.filter(action="survey.updated", target_id=str(survey.uuid)).count() == 1
    with tenant_context(world.b):
        foreign = f.SegmentFactory(tenant=world.b)
    rejected = client.post(url("edit", uuid=survey.uuid), settings | {"trigger": "recurring", "recurring_months": "6",
                                                                     "recurring_segment": str(foreign.uuid)})
    assert rejected.status_code == 400
