"""Survey logic (issue 20 item 1): pages, rules that show a question on earlier answers, endings per branch; part
of the immutable version, validated on publish, walked on the server (no JavaScript) by the web link, the embed,
the kiosk and the e-mail link; the builder's pages and the API edit it and show the flow."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from apps.surveys import logic
from apps.surveys.builder import services as builder
from apps.surveys.kiosks.services import kiosk_create
from apps.surveys.models import Answer, Question, Response, Survey, SurveyVersion
from apps.surveys.respond.forms import stamp_make
from apps.surveys.respond.services import response_submit
from apps.tenancy.context import tenant_context
from tests.builders import DETRACTORS, ENDINGS, TOPIC_OPTIONS, count_responses, invitation_with_token, logic_survey

pytestmark = pytest.mark.postgres

@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def page_of(response) -> int:
    return int(re.search(r'name="page" value="(\d+)"', response.content.decode()).group(1))


def stored(tenant):
    with tenant_context(tenant):
        return [(r.nps, dict(Answer.objects.filter(response=r).values_list("question__key", "value"))) for r in Response.objects.all()]


# --- the rules themselves ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw,message", [
    ({"match": "some"}, '"match" is "all" or "any"'),
    ({"rules": [{"question": "nps", "op": "near"}]}, "Unknown operator"),
    ({"rules": [{"question": "nps", "op": "between", "min": 7}]}, "whole-number min and max"),
    ({"rules": [{"question": "nps", "op": "between", "min": 7, "max": 3}]}, "is above its max"),
    ({"rules": [{"question": "topic", "op": "any_of", "values": []}]}, "name at least one choice"),
    ({"rules": [{"op": "answered"}]}, "names the question"),
    ({"rules": "nps"}, '"rules" is a list'),
    ("nps < 7", '{"match": "all" or "any"'),
])
def test_a_malformed_rule_is_refused_with_what_to_fix(raw, message):
    with pytest.raises(logic.LogicError, match=re.escape(message)):
        logic.condition_clean(raw)


def q(key, qtype="nps", *, order=1, new_page=False, show_if=None, options=None):
    return Question(key=key, type=qtype, order=order, new_page=new_page, show_if=show_if or {}, options=options or {}, text={"en": key})


def test_rules_decide_what_is_shown_reading_only_shown_answers():
    questions = [q("nps"), q("topic", "single_choice", order=2, new_page=True, show_if=DETRACTORS, options=TOPIC_OPTIONS),
                 q("why_price", "text", order=3, new_page=True,
                   show_if={"match": "all", "rules": [{"question": "topic", "op": "any_of", "values": ["price"]}]}),
                 q("praise", "text", order=4, show_if={"match": "any", "rules": [{"question": "nps", "op": "between", "min": 9, "max": 10},
                                                                               {"question": "topic", "op": "not_answered"}]})]
    flow = logic.Flow(questions)
    assert flow.pages == {"nps": 1, "topic": 2, "why_price": 3, "praise": 3}
    keys = lambda answers: [x.key for x in flow.shown(answers)]  # noqa: E731
    assert keys({"nps": 3, "topic": "price"}) == ["nps", "topic", "why_price"]
    assert keys({"nps": 3, "topic": "wait"}) == ["nps", "topic"]
    # A promoter never sees "topic": an answer to it (a form going back and forth) is not read, nor kept.
    assert keys({"nps": 10, "topic": "price"}) == ["nps", "praise"]
    assert flow.shown_answers({"nps": 10, "topic": "price"}) == {"nps": 10}
    assert flow.next_page(1, {"nps": 10}) == 3
    assert flow.next_page(1, {"nps": 2}) == 2
    assert flow.previous_page(3, {"nps": 10}) == 1
    assert flow.next_page(3, {"nps": 10}) is None


def test_publish_lists_every_unsound_rule():
    questions = [
        q("nps"),
        q("topic", "single_choice", order=2, options=TOPIC_OPTIONS, show_if=DETRACTORS),  # same page as nps
        q("a", "text", order=3, new_page=True, show_if={"match": "all", "rules": [{"question": "gone", "op": "answered"}]}),
        q("b", "text", order=4, show_if={"match": "all", "rules": [{"question": "topic", "op": "between", "min": 1, "max": 2}]}),
        q("c", "text", order=5, show_if={"match": "all", "rules": [{"question": "nps", "op": "between", "min": 11, "max": 12}]}),
        q("d", "text", order=6, show_if={"match": "all", "rules": [{"question": "topic", "op": "any_of", "values": ["parking"]}]}),
        q("e", "text", order=7, show_if={"match": "all", "rules": [{"question": "nps", "op": "between", "min": 0, "max": 3},
                                                                 {"question": "nps", "op": "between", "min": 8, "max": 10}]}),
        q("f", "text", order=8, show_if={"match": "all", "rules": [{"question": "f2", "op": "answered"}]}),
        q("f2", "text", order=9),
    ]
    endings = [{"key": "all", "when": {}, "texts": {}}, {"key": "late", "when": DETRACTORS, "texts": {}}]
    problems = logic.logic_problems(questions, endings)
    expected = ["“topic”) has a rule on “nps”, which is on the same page or after it",
                "has a rule on “gone”, which is not a question of this version (deleted, or its key changed)",
                "“between” does not apply to “topic”",
                "the band 11–12 is outside “nps”'s scale 0–10, so it can never hold",
                "“topic” no longer offers “parking”",
                "“e”) can never be shown: its rules contradict each other",
                "“f”) has a rule on “f2”, which is on the same page or after it",
                "The ending “late” is never reached: the ending “all” before it has no rule"]
    assert len(problems) == len(expected), problems
    for message, wanted in zip(problems, expected, strict=True):
        assert wanted in message


def test_a_rule_on_a_deleted_question_stops_the_publish_and_changes_nothing(world):
    survey = logic_survey(world, publish=False)
    with tenant_context(world.a):
        builder.question_delete(tenant=world.a, acting_user=world.carol, question=Question.objects.get(key="nps"))
        with pytest.raises(ValidationError) as caught:
            builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=survey)
        messages = " ".join(caught.value.messages)
        assert "has a rule on “nps”, which is not a question of this version" in messages
        assert "The ending “detractors” has a rule on “nps”" in messages
        assert SurveyVersion.objects.get(survey=survey).published_at is None
        assert Survey.objects.get(pk=survey.pk).status == Survey.Status.DRAFT


def test_logic_is_part_of_the_immutable_version_and_a_key_rename_carries_the_rules(world):
    survey = logic_survey(world)
    with tenant_context(world.a):
        live = survey.current_version
        with pytest.raises(Exception, match="published"):
            topic = Question.objects.get(version=live, key="topic")
            topic.show_if = {}
            topic.save()
        draft = builder.draft_get_or_create(tenant=world.a, acting_user=world.carol, survey=survey)
        copied = {x.key: (x.new_page, x.show_if) for x in Question.objects.filter(version=draft)}
        assert copied == {"nps": (False, {}), "topic": (True, DETRACTORS), "comment": (True, {})}
        assert draft.endings == ENDINGS
        builder.question_update(tenant=world.a, acting_user=world.carol, question=Question.objects.get(version=draft, key="nps"),
                                key="score")
        assert Question.objects.get(version=draft, key="topic").show_if["rules"][0]["question"] == "score"
        assert SurveyVersion.objects.get(pk=draft.pk).endings[0]["when"]["rules"][0]["question"] == "score"
        assert Question.objects.get(version=live, key="topic").show_if == DETRACTORS  # the live version never changes
        with pytest.raises(ValidationError, match="Unknown operator"):
            builder.question_update(tenant=world.a, acting_user=world.carol, question=Question.objects.get(version=draft, key="comment"),
                                    show_if={"rules": [{"question": "score", "op": "="}]})


# --- the respondent's way through the pages, on the server --------------------------------------------

def test_a_detractor_is_asked_why_and_ends_on_the_detractor_message(world, client):
    survey = logic_survey(world)
    url, stamp = f"/w/{survey.web_token}/", stamp_make(now=0)
    first = client.get(url)
    assert page_of(first) == 1
    assert "Page 1 of 3" in first.content.decode()
    second = client.post(url, {"stamp": stamp, "page": "1", "q_nps": "3"})
    assert second.status_code == 200
    assert page_of(second) == 2
    assert "What went wrong?" in second.content.decode()
    assert '<input type="hidden" name="q_nps" value="3">' in second.content.decode()
    missing = client.post(url, {"stamp": stamp, "page": "2", "q_nps": "3"})  # the required question of page 2
    assert missing.status_code == 400
    assert page_of(missing) == 2
    third = client.post(url, {"stamp": stamp, "page": "2", "q_nps": "3", "q_topic": "wait"})
    assert page_of(third) == 3
    back = client.post(url, {"stamp": stamp, "page": "3", "q_nps": "3", "q_topic": "wait", "q_comment": "Slow", "nav": "back"})
    assert page_of(back) == 2
    html = back.content.decode()
    assert re.search(r'value="wait"\s+checked', html)  # what page 2 held, and page 3's comment travels along hidden
    assert '<input type="hidden" name="q_comment" value="Slow">' in html
    assert count_responses(world.a) == 0  # nothing stored before the last page
    done = client.post(url, {"stamp": stamp, "page": "3", "q_nps": "3", "q_topic": "wait", "q_comment": "Slow"})
    assert done.status_code == 200
    assert "Someone from our team will call you within two days." in done.content.decode()
    assert stored(world.a) == [(3, {"nps": 3, "topic": "wait", "comment": "Slow"})]


def test_a_promoter_skips_the_page_and_an_answer_it_never_saw_is_dropped(world, client):
    survey = logic_survey(world)
    url, stamp = f"/w/{survey.web_token}/", stamp_make(now=0)
    skipped = client.post(url, {"stamp": stamp, "page": "1", "q_nps": "9"})
    assert page_of(skipped) == 3
    assert "What went wrong?" not in skipped.content.decode()
    back = client.post(url, {"stamp": stamp, "page": "3", "q_nps": "9", "nav": "back"})
    assert page_of(back) == 1
    # A form that still carries "topic" (the respondent was a detractor, went back, changed the score).
    done = client.post(url, {"stamp": stamp, "page": "3", "q_nps": "9", "q_topic": "price"})
    assert done.status_code == 200
    assert "Someone from our team" not in done.content.decode()
    assert stored(world.a) == [(9, {"nps": 9})]


def test_a_tampered_last_page_is_checked_again_and_stores_nothing(world, client):
    survey = logic_survey(world)
    url, stamp = f"/w/{survey.web_token}/", stamp_make(now=0)
    # Straight to page 3 as a detractor, without the required "topic" of page 2: the server's flow refuses.
    response = client.post(url, {"stamp": stamp, "page": "3", "q_nps": "2"})
    assert response.status_code == 400
    assert count_responses(world.a) == 0
    with tenant_context(world.a):
        with pytest.raises(ValidationError) as caught:
            response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 2}, channel="web", language="en")
        assert set(caught.value.error_dict) == {"topic"}
    assert count_responses(world.a) == 0


def test_the_kiosk_and_the_embed_walk_the_same_pages(world, client):
    survey = logic_survey(world)
    with tenant_context(world.a):
        _, key = kiosk_create(tenant=world.a, acting_user=None, survey=survey, name="Desk")
    stamp = stamp_make(now=0)
    kiosk_page = client.post(f"/k/{key}/", {"stamp": stamp, "page": "1", "q_nps": "5"})
    assert page_of(kiosk_page) == 2
    assert "What went wrong?" in kiosk_page.content.decode()
    thanks = client.post(f"/k/{key}/", {"stamp": stamp, "page": "3", "q_nps": "5", "q_topic": "staff"})
    assert "Someone from our team will call you within two days." in thanks.content.decode()
    embed = client.post(f"/w/{survey.web_token}/?embed=1", {"stamp": stamp_make(now=0), "page": "1", "q_nps": "1", "embed": "1"})
    assert page_of(embed) == 2
    assert 'name="embed" value="1"' in embed.content.decode()
    assert stored(world.a) == [(5, {"nps": 5, "topic": "staff"})]


def test_an_invitation_link_walks_the_pages_after_the_clicked_score(world, client):
    survey = logic_survey(world)
    _, raw = invitation_with_token(survey)
    url = f"/s/{raw}/"
    client.post(url, {"record_score": "4"})  # the score clicked in the e-mail, recorded at once
    assert stored(world.a) == [(4, {"nps": 4})]
    opened = client.get(url)
    assert page_of(opened) == 1
    nxt = client.post(url, {"page": "1", "q_nps": "4"})
    assert page_of(nxt) == 2
    done = client.post(url, {"page": "2", "q_nps": "4", "q_topic": "price"})
    assert page_of(done) == 3
    finished = client.post(url, {"page": "3", "q_nps": "4", "q_topic": "price"})
    assert "Someone from our team will call you within two days." in finished.content.decode()
    assert stored(world.a) == [(4, {"nps": 4, "topic": "price"})]


# --- the builder: edit and see the flow ---------------------------------------------------------------

def test_the_builder_edits_a_rule_and_an_ending_and_shows_the_flow(world, client):
    survey = logic_survey(world, publish=False)
    client.force_login(world.carol)
    with tenant_context(world.a):
        comment = Question.objects.get(key="comment")
    base = f"/t/acme/surveys/{survey.uuid}/"
    form = {"type": "text", "key": "comment", "text_en": "Anything else?", "new_page": "on", "rule_match": "all",
            "rule_1_question": "topic", "rule_1_op": "any_of", "rule_1_values": ["topic=price", "topic=wait"]}
    saved = client.post(f"{base}questions/{comment.uuid}/", form)
    assert saved.status_code == 302
    with tenant_context(world.a):
        assert Question.objects.get(pk=comment.pk).show_if == {
            "match": "all", "rules": [{"question": "topic", "op": "any_of", "values": ["price", "wait"]}]}
    wrong = client.post(f"{base}questions/{comment.uuid}/", form | {"rule_1_values": ["topic=price"], "rule_1_question": "nps",
                                                                      "rule_1_op": "any_of"})
    assert wrong.status_code == 400
    assert "Tick one or more choices of “nps”" in wrong.content.decode()
    half = client.post(f"{base}questions/{comment.uuid}/", form | {"rule_1_op": ""})
    assert "Choose both the question and the condition." in half.content.decode()

    made = client.post(f"{base}endings/new/", {"key": "promoters", "rule_match": "all", "rule_1_question": "nps", "rule_1_op": "between",
                                               "rule_1_min": "9", "rule_1_max": "10", "title_en": "", "thanks_en": "Leave us a review?"})
    assert made.status_code == 302
    editor = client.get(base).content.decode()
    for text in ("Page 2", "Page 3", "Shown only if nps is 0–6", "Shown only if topic is “Price” or “Waiting time”",
                 "When nps is 0–6", "When nps is 9–10: “Leave us a review?”"):
        assert text in editor, text
    assert client.post(f"{base}endings/promoters/delete/").status_code == 302
    with tenant_context(world.a):
        assert [e["key"] for e in SurveyVersion.objects.get(survey=survey).endings] == ["detractors"]
    assert client.get(f"{base}endings/nope/").status_code == 404


def test_the_editor_and_the_publish_page_say_what_is_wrong(world, client):
    survey = logic_survey(world, publish=False)
    with tenant_context(world.a):
        Question.objects.filter(key="topic").update(new_page=False)  # now on the page of the NPS it reads
    client.force_login(world.carol)
    message = "has a rule on “nps”, which is on the same page or after it"
    assert message in client.get(f"/t/acme/surveys/{survey.uuid}/").content.decode()
    refused = client.post(f"/t/acme/surveys/{survey.uuid}/publish/")
    assert refused.status_code == 400
    assert message in refused.content.decode()


def test_the_preview_walks_the_flow_and_names_the_ending(world, client):
    survey = logic_survey(world, publish=False)
    client.force_login(world.carol)
    url = f"/t/acme/surveys/{survey.uuid}/preview/?lang=en"
    assert page_of(client.post(url, {"page": "1", "q_nps": "2"})) == 2
    end = client.post(url, {"page": "3", "q_nps": "2", "q_topic": "price"}).content.decode()
    assert "They end on “detractors”: Someone from our team will call you within two days." in end
    assert count_responses(world.a) == 0


# --- the API -----------------------------------------------------------------------------------------

def test_the_api_reads_and_writes_the_logic(world, api_client):
    survey = logic_survey(world, publish=False)
    api_client.force_login(world.carol)
    base = f"/api/v1/t/acme/surveys/{survey.uuid}/"
    listed = api_client.get(base + "questions/").json()["results"]
    assert [(x["key"], x["page"], x["new_page"]) for x in listed] == [("nps", 1, False), ("topic", 2, True), ("comment", 3, True)]
    assert listed[1]["show_if"] == DETRACTORS
    comment = listed[2]["id"]
    bad = api_client.patch(base + f"questions/{comment}/", {"show_if": {"rules": [{"question": "nps", "op": "is"}]}}, format="json")
    assert bad.status_code == 400
    assert "Unknown operator" in str(bad.json())
    ok = api_client.patch(base + f"questions/{comment}/", {"show_if": {"match": "any", "rules": [{"question": "nps", "op": "answered"}]},
                                                           "new_page": False}, format="json")
    assert ok.status_code == 200
    assert (ok.json()["page"], ok.json()["show_if"]["match"]) == (2, "any")
    assert api_client.get(base + "endings/").json()["endings"] == ENDINGS
    put = api_client.put(base + "endings/", {"endings": [{"key": "x", "when": {"rules": [{"question": "gone", "op": "answered"}]},
                                                          "texts": {"en": {"title": "", "thanks": "Bye"}}}]}, format="json")
    assert put.status_code == 200
    refused = api_client.post(base + "publish/", {}, format="json")
    assert refused.status_code == 400
    assert "The ending “x” has a rule on “gone”" in str(refused.json())
    assert api_client.put(base + "endings/", {"endings": [{"key": "x", "texts": {"de": {}}}]}, format="json").status_code == 400
    api_client.force_login(world.victor)
    assert api_client.put(base + "endings/", {"endings": []}, format="json").status_code == 403
    with tenant_context(world.a):
        assert len(SurveyVersion.objects.get(survey=survey).endings) == 1


def test_logic_never_crosses_tenants(world, api_client):
    survey = logic_survey(world, publish=False)
    api_client.force_login(world.charlie)  # a lead of the other workspace
    assert api_client.get(f"/api/v1/t/acme/surveys/{survey.uuid}/endings/").status_code in (403, 404)
    assert api_client.get(f"/api/v1/t/{world.b.slug}/surveys/{survey.uuid}/endings/").status_code == 404
