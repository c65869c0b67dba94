"""The score clicked in the invitation e-mail is recorded at once (issue 20 item 5): the landing page posts it itself
(a GET never records: link scanners open links), it counts in the rollups, alert rules and webhooks once, the
respondent may change it and complete the form until the link expires — one response, exact rollups throughout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.feedback.models import Case
from apps.integrations.models import WebhookDelivery
from apps.surveys.i18n import ui_text
from apps.surveys.models import Invitation, Response
from apps.surveys.respond.services import response_submit
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import bilingual_live_survey, count_responses, invitation_with_token, reload
from tests.metrics_world import assert_exact

pytestmark = pytest.mark.postgres

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def link(world):
    survey, _ = bilingual_live_survey(world.a)
    invitation, raw = invitation_with_token(survey)
    return survey, invitation, f"/s/{raw}/"


@pytest.fixture
def watchers(world):
    """A detractor rule (NPS ≤ 6) and a webhook endpoint for new responses."""
    with tenant_context(world.a):
        f.AlertRuleFactory(tenant=world.a, assignee=f.MembershipFactory(tenant=world.a))
        f.WebhookEndpointFactory(tenant=world.a, events=["response.created"])


def the_response(tenant) -> Response:
    with tenant_context(tenant):
        return Response.objects.get()


def answers(response) -> dict:
    with tenant_context(response.tenant):
        return dict(response.answers.values_list("question__key", "value"))


def counts(tenant) -> tuple[int, int, int]:
    """(responses, cases, webhook deliveries)."""
    with tenant_context(tenant):
        return Response.objects.count(), Case.objects.count(), WebhookDelivery.objects.count()


def test_a_get_records_nothing_the_page_posts_the_score_and_it_counts_at_once(world, client, link, watchers,
                                                                              django_capture_on_commit_callbacks):
    _, invitation, url = link
    page = client.get(f"{url}?score=3")
    assert page.status_code == 200
    assert 'name="record_score" value="3"' in page.content.decode()
    assert count_responses(world.a) == 0  # a link scanner's GET stores nothing
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(url, {"record_score": "3", "lang": "en"}, **FETCH)
    assert posted.status_code == 204
    response = the_response(world.a)
    assert (response.nps, response.score_only, response.channel, response.comment) == (3, True, "email", "")
    assert answers(response) == {"nps": 3}
    assert reload(invitation).status == Invitation.Status.RESPONDED
    assert counts(world.a) == (1, 1, 1)  # counted once: one case (NPS 3 ≤ 6), one webhook delivery
    assert_exact(world.a)  # in the rollups of its day at once


def test_the_same_click_again_changes_nothing_and_another_score_replaces_it(world, client, link, watchers,
                                                                            django_capture_on_commit_callbacks):
    _, _, url = link
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"record_score": "9"}, **FETCH)
        client.post(url, {"record_score": "9"}, **FETCH)
    assert counts(world.a) == (1, 0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"record_score": "2"}, **FETCH).status_code == 204
    response = the_response(world.a)
    assert (response.nps, response.score_only) == (2, True)
    assert answers(response) == {"nps": 2}
    assert counts(world.a) == (1, 1, 1)  # the rules looked again (a detractor now); no second webhook
    assert_exact(world.a)  # its day recounted: a detractor, not a promoter


def test_the_form_completes_the_recorded_response_then_the_link_is_used(world, client, link, watchers,
                                                                        django_capture_on_commit_callbacks):
    _, invitation, url = link
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"record_score": "4"}, **FETCH)
    # Back on the link later: the recorded score is shown, the rest can be answered.
    page = client.get(url).content.decode()
    assert ui_text("en", "score_recorded", score=4) in page
    assert 'value="4" checked' in page
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"q_nps": "4", "q_reason": "The invoice was late", "lang": "en"})
    assert done.status_code == 200
    assert ui_text("en", "thanks_title") in done.content.decode()
    response = the_response(world.a)
    assert (response.nps, response.comment, response.score_only) == (4, "The invoice was late", False)
    assert answers(response) == {"nps": 4, "reason": "The invoice was late"}
    assert counts(world.a) == (1, 1, 1)  # same response, same case, same webhook
    assert_exact(world.a)
    # Now the link is used: a later click or submit changes nothing.
    assert ui_text("en", "already_recorded_title") in client.get(f"{url}?score=10").content.decode()
    client.post(url, {"record_score": "10"}, **FETCH)
    client.post(url, {"q_nps": "10"})
    assert (the_response(world.a).nps, counts(world.a)) == (4, (1, 1, 1))
    assert reload(invitation).responded_at == response.submitted_at


def test_completing_with_another_score_recounts_the_day_and_opens_a_case_once(world, client, link, watchers,
                                                                             django_capture_on_commit_callbacks):
    _, _, url = link
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"record_score": "10"}, **FETCH)
    assert counts(world.a) == (1, 0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"q_nps": "1", "q_reason": "Actually, no"})
    assert the_response(world.a).nps == 1
    assert counts(world.a) == (1, 1, 1)
    assert_exact(world.a)


def test_without_javascript_the_button_records_the_score_and_shows_the_form(world, client, link):
    _, _, url = link
    page = client.post(url, {"record_score": "8", "lang": "en"})
    html = page.content.decode()
    assert page.status_code == 200
    assert ui_text("en", "score_recorded", score=8) in html
    assert 'value="8" checked' in html
    assert 'name="record_score"' not in html  # recorded: no second button
    assert the_response(world.a).nps == 8


@pytest.mark.parametrize("score", ["11", "-1", "abc", "", "99999", "7.5"])
def test_a_clicked_score_off_the_scale_is_refused_and_stores_nothing(world, client, link, score):
    _, invitation, url = link
    page = client.post(url, {"record_score": score}, **FETCH)
    assert page.status_code == 400
    assert ui_text("en", "score_click_invalid") in page.content.decode()
    assert count_responses(world.a) == 0
    assert reload(invitation).status == Invitation.Status.SENT


def test_an_expired_link_keeps_the_recorded_score_and_takes_no_more(world, client, link):
    _, invitation, url = link
    client.post(url, {"record_score": "6"}, **FETCH)
    with tenant_context(world.a):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(url)
    assert page.status_code == 200
    assert ui_text("en", "already_recorded_title") in page.content.decode()
    client.post(url, {"q_nps": "9", "q_reason": "Late"})
    client.post(url, {"record_score": "9"}, **FETCH)
    response = the_response(world.a)
    assert (response.nps, response.comment, response.score_only) == (6, "", True)


def test_only_an_invitation_records_a_clicked_score_and_only_its_first_scored_question(world, link):
    survey, invitation, _ = link
    with tenant_context(world.a):
        with pytest.raises(ValidationError):
            response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 5}, channel="web", language="en",
                            score_only=True)
        with pytest.raises(ValidationError):
            response_submit(tenant=world.a, version=survey.current_version, answers={"reason": "Hi"}, channel="email",
                            language="en", invitation=invitation, score_only=True)
        with pytest.raises(ValidationError):
            response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 5, "reason": "Hi"}, channel="email",
                            language="en", invitation=invitation, score_only=True)
    assert count_responses(world.a) == 0
