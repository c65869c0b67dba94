"""Answering a survey by its e-mailed link /s/<token>/ (issue 5 items 11 and 14), and response_submit.

Helpers at the top (`live_survey`, `invitation_with_token`) are reused by the other respondent test
files."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.surveys.i18n import UI_TEXT, negotiate_language, parse_accept_language, ui_text
from apps.surveys.models import Invitation, Response, Survey
from apps.surveys.respond.selectors import invitation_get_by_token_including_cross_tenant, responses_counted
from apps.surveys.respond.services import response_submit
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import NPS_TEXT, bilingual_live_survey, count_responses, invitation_with_token, reload

pytestmark = pytest.mark.postgres


# --- i18n ----------------------------------------------------------------------------------------

def test_every_language_has_every_string():
    for lang, strings in UI_TEXT.items():
        assert set(strings) == set(UI_TEXT["en"]), lang
        assert all(value.strip() for value in strings.values()), lang
    assert ui_text("fr", "submit") == "Envoyer"
    assert ui_text("xx", "submit") == "Submit"
    assert ui_text("de", "survey_from", org="Acme") == "Eine kurze Umfrage von Acme"
    with pytest.raises(KeyError):
        ui_text("en", "no-such-key")


def test_accept_language_is_ranked_by_quality():
    assert parse_accept_language("de;q=0.5, fr-BE, en;q=0.8, *;q=0.1, nl;q=0") == ["fr-be", "en", "de"]
    assert parse_accept_language("") == []
    assert parse_accept_language("en;q=abc") == []


@pytest.mark.parametrize("query,accept,expected", [
    ("?lang=fr", "en", "fr"),  # ?lang= first
    ("?lang=de", "fr-CH,fr;q=0.9", "fr"),  # not a survey language: ignored, then Accept-Language
    ("", "de-DE,fr;q=0.8,en;q=0.5", "fr"),  # the first of the survey's languages the browser accepts
    ("", "es", "en"),  # none: the survey's default
    ("?lang=FR", "", "fr"),
])
def test_it_negotiates_the_language(rf, query, accept, expected):
    survey = Survey(languages=["en", "fr"], default_language="en")
    assert negotiate_language(survey, rf.get("/s/x/" + query, HTTP_ACCEPT_LANGUAGE=accept)) == expected


def test_negotiation_without_a_survey_and_with_narrowed_languages(rf):
    assert negotiate_language(None, rf.get("/", HTTP_ACCEPT_LANGUAGE="nl-BE")) == "nl"
    survey = Survey(languages=["fr", "en"], default_language="fr")
    assert negotiate_language(survey, rf.get("/", HTTP_ACCEPT_LANGUAGE="en"), available=["fr"]) == "fr"


# --- the respondent page -------------------------------------------------------------------------

def test_it_shows_the_pinned_version_in_the_negotiated_language(world, client):
    survey, _ = bilingual_live_survey(world.a)
    _, raw = invitation_with_token(survey)
    page = client.get(f"/s/{raw}/", HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="fr">' in html
    assert NPS_TEXT["fr"] in html
    assert "Envoyer" in html
    assert "Pas du tout probable" in html
    assert html.count('type="radio"') == 11
    assert "<fieldset" in html
    assert "<legend" in html
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "no-store"
    assert not page.cookies  # the respondent's pages set no cookie
    english = client.get(f"/s/{raw}/?lang=en", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert NPS_TEXT["en"] in english
    assert "Not at all likely" in english
    assert 'hreflang="fr"' in english


def test_get_and_head_never_consume_the_token(world, client):
    survey, _ = bilingual_live_survey(world.a)
    invitation, raw = invitation_with_token(survey)
    for _ in range(10):
        assert client.get(f"/s/{raw}/").status_code == 200
        assert client.head(f"/s/{raw}/").status_code == 200
    opened = reload(invitation)
    assert opened.status == Invitation.Status.OPENED
    assert opened.opened_at is not None
    assert count_responses(world.a) == 0
    first_opened = opened.opened_at
    client.get(f"/s/{raw}/")
    assert reload(invitation).opened_at == first_opened  # set once
    page = client.post(f"/s/{raw}/", {"q_nps": "9", "q_reason": "  Quick and kind  ", "lang": "en"})
    assert page.status_code == 200
    assert "Thank you!" in page.content.decode()
    answered = reload(invitation)
    assert answered.status == Invitation.Status.RESPONDED
    assert answered.responded_at is not None
    with tenant_context(world.a):
        response = Response.objects.get()
        assert (response.nps, response.comment, response.channel, response.language) == (9, "Quick and kind", "email", "en")
        assert sorted(response.answers.values_list("question__key", "value")) == [("nps", 9), ("reason", "Quick and kind")]


def test_the_score_from_the_email_is_preselected_but_not_stored_by_a_get(world, client):
    survey, _ = bilingual_live_survey(world.a)
    invitation, raw = invitation_with_token(survey)
    html = client.get(f"/s/{raw}/?score=7").content.decode()
    assert 'value="7" checked' in html
    assert ui_text("en", "score_click_pending", score=7) in html
    assert 'name="record_score" value="7"' in html  # the page posts it (tests/test_surveys_score_click.py)
    assert count_responses(world.a) == 0
    assert reload(invitation).responded_at is None
    assert "checked" not in client.get(f"/s/{raw}/?score=11").content.decode()  # off the scale: ignored
    assert client.get(f"/s/{raw}/?score=abc").status_code == 200
    assert client.post(f"/s/{raw}/?score=7", {"q_nps": "3"}).status_code == 200
    with tenant_context(world.a):
        assert Response.objects.get().nps == 3  # what was submitted, not the e-mail's score


def test_an_invalid_submit_explains_itself_and_stores_nothing(world, client):
    survey, _ = bilingual_live_survey(world.a)
    invitation, raw = invitation_with_token(survey)
    page = client.post(f"/s/{raw}/", {"q_reason": "no score", "lang": "fr"})
    html = page.content.decode()
    assert page.status_code == 400
    assert 'id="error-summary"' in html
    assert "Veuillez répondre à cette question." in html
    assert 'href="#id_q_nps_0"' in html
    assert "no score" in html  # what was typed is kept
    assert client.post(f"/s/{raw}/", {"q_nps": "11"}).status_code == 400
    assert client.post(f"/s/{raw}/", {"q_nps": "x" * 20}).status_code == 400
    assert client.post(f"/s/{raw}/", {"q_nps": "5", "q_reason": "x" * 5001}).status_code == 400
    assert count_responses(world.a) == 0
    assert reload(invitation).status == Invitation.Status.SENT


def test_a_second_submit_lands_once_and_says_already_recorded(world, client):
    survey, _ = bilingual_live_survey(world.a)
    invitation, raw = invitation_with_token(survey)
    assert "Thank you!" in client.post(f"/s/{raw}/", {"q_nps": "10"}).content.decode()
    again = client.post(f"/s/{raw}/", {"q_nps": "2"})
    assert again.status_code == 200
    assert UI_TEXT["en"]["already_recorded_title"] in again.content.decode()
    page = client.get(f"/s/{raw}/")
    assert page.status_code == 200
    assert UI_TEXT["en"]["already_recorded_title"] in page.content.decode()
    with tenant_context(world.a):
        assert list(Response.objects.values_list("nps", flat=True)) == [10]


@pytest.mark.parametrize("case", ["expired_date", "expired_status", "paused", "closed", "closes_passed", "not_open_yet", "skipped"])
def test_expired_and_closed_links_get_the_generic_410_page(world, client, case):
    survey, _ = bilingual_live_survey(world.a)
    invitation, raw = invitation_with_token(survey)
    now = timezone.now()
    with tenant_context(world.a):
        if case == "expired_date":
            Invitation.objects.filter(pk=invitation.pk).update(expires_at=now - timedelta(seconds=1))
        elif case == "expired_status":
            Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.EXPIRED)
        elif case == "skipped":
            Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.SKIPPED, skip_reason="fatigued")
        elif case in ("paused", "closed"):
            Survey.objects.filter(pk=survey.pk).update(status=case)
        elif case == "closes_passed":
            Survey.objects.filter(pk=survey.pk).update(opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
        else:
            Survey.objects.filter(pk=survey.pk).update(opens_at=now + timedelta(days=1))
    for method in ("get", "post"):
        page = getattr(client, method)(f"/s/{raw}/", {"q_nps": "9"} if method == "post" else None)
        assert page.status_code == 410, (case, method)
        assert UI_TEXT["en"]["unavailable_title"] in page.content.decode()
    assert count_responses(world.a) == 0


def test_unknown_and_tampered_links_get_the_same_404_page(world, client, caplog):
    survey, _ = bilingual_live_survey(world.a)
    _, raw = invitation_with_token(survey)
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    with caplog.at_level(logging.DEBUG):
        pages = [client.get(f"/s/{tampered}/"), client.post(f"/s/{tampered}/", {"q_nps": "9"}), client.get("/s/short/"),
                 client.get(f"/s/{'x' * 300}/"), client.get("/s/%00%ff/")]
    assert {p.status_code for p in pages} == {404}
    assert len({p.content for p in pages[:1] + pages[2:]}) == 1
    assert tampered not in caplog.text
    assert "xxxxxxxx" not in caplog.text  # the token never reaches a log
    assert count_responses(world.a) == 0


def test_invitation_links_are_rate_limited_per_ip_for_views_and_submits(world, client, settings):
    """Issue 15: DESIGN.md says the respondent page is rate limited; guessing tokens (404s) counts too."""
    settings.SURVEY_INVITATION_REQUESTS_PER_MINUTE = 4
    survey, _ = bilingual_live_survey(world.a)
    _, raw = invitation_with_token(survey)
    statuses = [client.get(f"/s/{raw}/").status_code, client.get(f"/s/{'x' * 43}/").status_code,
                client.get(f"/s/{'y' * 43}/").status_code, client.post(f"/s/{raw}/", {"q_nps": "9"}).status_code]
    assert statuses == [200, 404, 404, 200], statuses
    refused = [client.get(f"/s/{raw}/", HTTP_ACCEPT_LANGUAGE="fr"), client.post(f"/s/{raw}/", {"q_nps": "3"})]
    assert [page.status_code for page in refused] == [429, 429]
    html = refused[0].content.decode()
    assert UI_TEXT["fr"]["rate_limited_title"] in html, html
    assert UI_TEXT["fr"]["rate_limited_body"] in html, html
    assert 0 < int(refused[0]["Retry-After"]) <= 60
    assert refused[0]["Cache-Control"] == "no-store"
    with tenant_context(world.a):
        assert [r.nps for r in Response.objects.all()] == [9]  # the refused submit stored nothing
    # Another address is not affected.
    assert client.get(f"/s/{raw}/", REMOTE_ADDR="10.0.0.9").status_code == 200


def test_a_token_answers_only_into_its_own_tenant(world, client):
    survey_a, _ = bilingual_live_survey(world.a)
    survey_b, _ = bilingual_live_survey(world.b)
    invitation_a, _ = invitation_with_token(survey_a)
    invitation_b, raw_b = invitation_with_token(survey_b)
    assert client.post(f"/s/{raw_b}/", {"q_nps": "4"}).status_code == 200
    assert count_responses(world.a) == 0
    assert count_responses(world.b) == 1
    with tenant_context(world.b):
        assert Response.objects.get().invitation_id == invitation_b.pk
    assert reload(invitation_a).status == Invitation.Status.SENT
    assert invitation_get_by_token_including_cross_tenant(raw_b).tenant == world.b


def test_a_response_keeps_its_attribution_as_of_submission(world, client):
    survey_probe, _ = bilingual_live_survey(world.a)
    with tenant_context(world.a):
        segment = f.SegmentFactory(tenant=world.a)
        contact = f.ContactFactory(client=f.ClientFactory(tenant=world.a, segment=segment))
        touchpoint = f.TouchpointFactory(tenant=world.a)
        stage = f.StageFactory(journey=f.JourneyFactory(tenant=world.a))
        f.StageTouchpointFactory(stage=stage, touchpoint=touchpoint)
        staff = world.membership(world.bob, world.a)
        interaction = f.InteractionFactory(client=contact.client, contact=contact, touchpoint=touchpoint, staff=staff)
    invitation, raw = invitation_with_token(survey_probe, contact=contact, interaction=interaction)
    client.post(f"/s/{raw}/?lang=fr", {"q_nps": "6", "lang": "fr"})
    with tenant_context(world.a):
        # Later changes do not rewrite history.
        contact.client.segment = None
        contact.client.save()
        r = Response.objects.get()
        assert (r.client_id, r.contact_id, r.interaction_id, r.touchpoint_id, r.stage_id, r.staff_id, r.segment_id) == (
            contact.client_id, contact.pk, interaction.pk, touchpoint.pk, stage.pk, staff.pk, segment.pk)
        assert (r.language, r.version_id, r.channel, r.survey_id, r.invitation_id) == (
            "fr", survey_probe.current_version_id, "email", survey_probe.pk, invitation.pk)


def test_the_surveys_stage_wins_and_an_ambiguous_placement_gives_none(world):
    with tenant_context(world.a):
        touchpoint = f.TouchpointFactory(tenant=world.a)
        journey = f.JourneyFactory(tenant=world.a)
        stages = [f.StageFactory(journey=journey), f.StageFactory(journey=journey)]
        for stage in stages:
            f.StageTouchpointFactory(stage=stage, touchpoint=touchpoint)
    survey, version = bilingual_live_survey(world.a, touchpoint=touchpoint)
    with tenant_context(world.a):
        r, _ = response_submit(tenant=world.a, version=version, answers={"nps": 8}, channel="web", language="en")
        assert (r.touchpoint_id, r.stage_id) == (touchpoint.pk, None)
        Survey.objects.filter(pk=survey.pk).update(stage=stages[1])
        version.survey.refresh_from_db()
        r, _ = response_submit(tenant=world.a, version=version, answers={"nps": 8}, channel="web", language="en")
        assert r.stage_id == stages[1].pk


def test_enps_is_kept_out_of_customer_nps(world):
    _, version = bilingual_live_survey(world.a, kind="enps")
    with tenant_context(world.a):
        r, created = response_submit(tenant=world.a, version=version, answers={"nps": 10}, channel="web", language="en")
        assert created
        assert r.nps is None
        assert r.answers.get().value == 10


def test_response_submit_validates_every_question_type(world):
    questions = [("csat", "csat", True, {}), ("ces", "ces", False, {}), ("smiley", "smiley", False, {}),
                 ("rating", "rating", False, {"min": 1, "max": 10}),
                 ("why", "single_choice", False, [{"value": "price", "label": {"en": "Price"}}, {"value": "staff", "label": {"en": "Staff"}}]),
                 ("what", "multi_choice", False, [{"value": "a", "label": {"en": "A"}}, {"value": "b", "label": {"en": "B"}}]),
                 ("note", "text", False, {})]
    _, version = bilingual_live_survey(world.a, kind="custom", questions=questions)
    bad = [{}, {"csat": 0}, {"csat": 6}, {"csat": True}, {"csat": "five"}, {"csat": 3, "ces": 8}, {"csat": 3, "smiley": 4},
           {"csat": 3, "rating": 11}, {"csat": 3, "why": "other"}, {"csat": 3, "what": ["a", "z"]}, {"csat": 3, "note": 5},
           {"csat": 3, "note": "x" * 5001}, {"csat": 3, "nope": 1}]
    with tenant_context(world.a):
        for answers in bad:
            with pytest.raises(ValidationError):
                response_submit(tenant=world.a, version=version, answers=answers, channel="web", language="en")
        assert Response.objects.count() == 0
        r, created = response_submit(tenant=world.a, version=version, channel="api", language="en", answers={
            "csat": "4", "ces": 6, "smiley": 3, "rating": 10, "why": "staff", "what": ["b", "a", "b"], "note": " fine "})
        assert created
        assert (r.csat, r.ces, r.smiley, r.nps, r.comment) == (4, 6, 3, None, "fine")
        assert dict(r.answers.values_list("question__key", "value"))["what"] == ["a", "b"]


def test_response_submit_refuses_another_tenants_invitation(world):
    _, version_a = bilingual_live_survey(world.a)
    survey_b, _ = bilingual_live_survey(world.b)
    invitation_b, _ = invitation_with_token(survey_b)
    with tenant_context(world.a), pytest.raises(ValidationError):
        response_submit(tenant=world.a, version=version_a, answers={"nps": 1}, channel="email", language="en", invitation=invitation_b)


def test_response_submit_is_idempotent_per_invitation_and_submission_key(world):
    survey, version = bilingual_live_survey(world.a)
    invitation, _ = invitation_with_token(survey)
    with tenant_context(world.a):
        first, created = response_submit(tenant=world.a, version=version, answers={"nps": 9}, channel="email", language="en",
                                         invitation=invitation)
        again, created_again = response_submit(tenant=world.a, version=version, answers={"nps": 1}, channel="email", language="en",
                                               invitation=invitation)
        assert created
        assert not created_again
        assert again.pk == first.pk
        keyed, _ = response_submit(tenant=world.a, version=version, answers={"nps": 5}, channel="web", language="en", submission_key="k1")
        dup, dup_created = response_submit(tenant=world.a, version=version, answers={"nps": 6}, channel="web", language="en",
                                           submission_key="k1")
        assert not dup_created
        assert dup.pk == keyed.pk
        assert Response.objects.count() == 2


def test_responses_counted_leaves_bots_out(world):
    _, version = bilingual_live_survey(world.a)
    with tenant_context(world.a):
        response_submit(tenant=world.a, version=version, answers={"nps": 9}, channel="web", language="en")
        response_submit(tenant=world.a, version=version, answers={"nps": 0}, channel="web", language="en", is_bot=True,
                        bot_reason="honeypot")
        assert list(responses_counted().values_list("nps", flat=True)) == [9]
