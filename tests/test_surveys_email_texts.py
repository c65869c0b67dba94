"""The invitation e-mail's own words per survey and language (issue 20 item 3): subject, intro (sanitised HTML),
button label and the reminder's subject and intro, each defaulting to the product's words; piped with the
contact's data; previewed with a real contact; a test send to oneself; the same through the API."""

from __future__ import annotations

import pytest
from django.core import mail

from apps.messaging.models import OutboundEmail
from apps.messaging.services import outbox_deliver
from apps.surveys.distribution import services as dist
from apps.surveys.distribution.emails import html_text, sanitize_html
from apps.surveys.models import Invitation, Survey
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests.builders import live_survey, send
from tests.factories import ContactFactory

pytestmark = pytest.mark.postgres

WORDS = {"subject_en": "{{contact.first_name|Hello}}, one question about {{client.name}}",
         "intro_en": '<p>We value <b>your</b> view.</p><script>alert(1)</script><a href="javascript:alert(1)">x</a>'
                     '<a href="https://example.com/why" onclick="x()">why we ask</a>',
         "button_en": "Answer in 10 seconds", "reminder_subject_en": "Still a minute, {{contact.first_name|friend}}?",
         "reminder_intro_en": ""}


def deliver(tenant):
    with tenant_context(tenant):
        dist.invitations_dispatch_due(tenant=tenant)
    return outbox_deliver(tenant=tenant)


def test_sanitising_keeps_emphasis_lists_and_web_links_only():
    cleaned = sanitize_html('<p style="color:red">Hi <b>there</b><img src=x onerror=alert(1)></p><ul><li>one</li></ul>'
                            '<a href="mailto:a@b.c">mail</a><iframe src="https://evil"></iframe>')
    assert cleaned == ('<p>Hi <b>there</b></p><ul><li>one</li></ul><a href="mailto:a@b.c" rel="noopener noreferrer">mail</a>')
    assert html_text(cleaned) == "Hi there\n- one\nmail"


def test_the_lead_writes_the_e_mail_and_invitations_use_it(world, client, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    client.force_login(world.carol)
    page = client.get(f"/t/acme/surveys/{survey.uuid}/email/")
    assert page.status_code == 200
    assert 'placeholder="How did we do? (en)"' in page.content.decode()  # the default subject: the version's title
    assert client.post(f"/t/acme/surveys/{survey.uuid}/email/", WORDS).status_code == 302
    with tenant_context(world.a):
        stored = Survey.objects.get(pk=survey.pk).email_texts["en"]
        assert "<script>" not in stored["intro"]
        assert "javascript:" not in stored["intro"]
        assert "reminder_intro" not in stored  # empty: the default
        assert AuditEvent.objects.filter(action="survey.email_texts_updated").count() == 1
    ann = ContactFactory(client__tenant=world.a, client__name="Northwind <Ltd>", name="Ann <i>Lee</i>")
    with django_capture_on_commit_callbacks(execute=True):
        result = send(world, survey, [ann])
    deliver(world.a)
    message = mail.outbox[0]
    assert message.subject == "Ann, one question about Northwind <Ltd>"
    html = message.alternatives[0][0]
    assert "We value <b>your</b> view." in html
    assert "<script>" not in html
    assert "Answer in 10 seconds" in html
    assert "Hello Ann &lt;i&gt;Lee&lt;/i&gt;," in html
    assert '<a href="https://example.com/why" rel="noopener noreferrer">why we ask</a>' in html
    assert "We value your view." in message.body
    assert "Answer in 10 seconds: http" in message.body

    # The reminder: its own subject, the default intro.
    with tenant_context(world.a):
        invitation = Invitation.objects.get(pk=result.invitations[0].pk)
        rendered = dist.emails.render_survey_email(tenant=world.a, invitation=invitation, kind=OutboundEmail.Kind.REMINDER)
    assert rendered.subject == "Still a minute, Ann?"
    assert "A short reminder:" in rendered.text


@pytest.mark.parametrize("field,value,message", [
    ("subject_en", "Hi {{contact.nickname}}", "{{contact.nickname}} names nothing"),
    ("button_en", "x" * 61, "Ensure this value has at most 60 characters"),
])
def test_bad_words_are_refused_with_why_and_nothing_changes(world, client, field, value, message):
    survey = live_survey(world.a)
    client.force_login(world.carol)
    refused = client.post(f"/t/acme/surveys/{survey.uuid}/email/", {**WORDS, field: value})
    assert refused.status_code == 400
    assert message in refused.content.decode()
    with tenant_context(world.a):
        assert Survey.objects.get(pk=survey.pk).email_texts == {}


def test_the_preview_shows_a_real_contacts_e_mail_and_the_test_goes_to_me(world, client):
    survey = live_survey(world.a)
    with tenant_context(world.a):
        dist.survey_email_texts_update(tenant=world.a, acting_user=world.carol, survey=survey,
                                       texts={"en": {"subject": "For {{contact.first_name|you}}", "intro": "Hi {{client.name}}"}})
    ann = ContactFactory(client__tenant=world.a, client__name="Northwind", name="Ann Lee")
    client.force_login(world.carol)
    page = client.get(f"/t/acme/surveys/{survey.uuid}/email/", {"contact": str(ann.uuid)}).content.decode()
    assert "For Ann" in page  # the subject, filled with Ann's data
    preview = client.get(f"/t/acme/surveys/{survey.uuid}/email/preview/", {"contact": str(ann.uuid), "lang": "en"})
    assert preview.status_code == 200
    assert "Hello Ann Lee," in preview.content.decode()
    assert "Hi Northwind" in preview.content.decode()
    assert "default-src 'none'" in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    sent = client.post(f"/t/acme/surveys/{survey.uuid}/test-email/", {"lang": "en", "contact": str(ann.uuid), "back": "email"})
    assert sent.status_code == 302
    assert f"/surveys/{survey.uuid}/email/?lang=en&contact={ann.uuid}" in sent["Location"]
    with tenant_context(world.a):
        email = OutboundEmail.objects.get()
    assert (email.to_email, email.subject) == (world.carol.email, "[TEST] For Ann")
    assert "Hello Ann Lee," in email.body_text
    client.force_login(world.victor)
    assert client.get(f"/t/acme/surveys/{survey.uuid}/email/preview/").status_code == 403


def test_the_api_sets_the_words_per_language(world, api_client):
    survey = live_survey(world.a, languages=("en", "fr"))
    api_client.force_login(world.carol)
    url = f"/api/v1/t/acme/surveys/{survey.uuid}/"
    ok = api_client.patch(url, {"email_texts": {"fr": {"subject": "Votre avis, {{contact.first_name|cher client}}"}}}, format="json")
    assert ok.status_code == 200
    assert ok.json()["email_texts"] == {"fr": {"subject": "Votre avis, {{contact.first_name|cher client}}"}}
    bad = api_client.patch(url, {"email_texts": {"de": {"subject": "x"}}, "name": "Renamed"}, format="json")
    assert bad.status_code == 400
    assert "not one of this survey's languages" in str(bad.json())
    with tenant_context(world.a):
        assert Survey.objects.get(pk=survey.pk).name != "Renamed"  # one transaction: nothing of a refused PATCH stays


def test_the_api_sends_the_test_to_the_caller_as_a_contact_gets_it(world, api_client):
    survey = live_survey(world.a)
    with tenant_context(world.a):
        dist.survey_email_texts_update(tenant=world.a, acting_user=world.carol, survey=survey,
                                       texts={"en": {"subject": "For {{contact.first_name|you}}"}})
    ann = ContactFactory(client__tenant=world.a, name="Ann Lee")
    api_client.force_login(world.carol)
    sent = api_client.post(f"/api/v1/t/acme/surveys/{survey.uuid}/test-email/", {"contact": str(ann.uuid)}, format="json")
    assert sent.status_code == 202
    assert sent.json() == {"to": world.carol.email, "subject": "[TEST] For Ann"}
    with tenant_context(world.a):
        assert OutboundEmail.objects.get().kind == "test"
    api_client.force_login(world.victor)
    assert api_client.post(f"/api/v1/t/acme/surveys/{survey.uuid}/test-email/", {}, format="json").status_code == 403
