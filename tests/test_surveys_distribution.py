"""Survey distribution in process (eager tasks, locmem e-mail): triggers, the rules and their skip
reasons, tokens, the outbox's retries, reminders, expiry, opt-out, the send log, the test e-mail.
The real worker and SMTP server are in test_surveys_e2e.py and test_surveys_smtp_outage.py."""

from __future__ import annotations

import hashlib
import smtplib
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.messaging.models import OutboundEmail
from apps.messaging.services import outbox_deliver
from apps.surveys.distribution import services as dist
from apps.surveys.models import Invitation, ManualSend, Survey
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests.builders import LINK, live_survey, send
from tests.factories import (
    ClientFactory,
    ContactFactory,
    InteractionFactory,
    ResponseFactory,
    SegmentFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db
Status, Skip = Invitation.Status, Invitation.SkipReason


def deliver(tenant):
    with tenant_context(tenant):
        dist.invitations_dispatch_due(tenant=tenant)
    return outbox_deliver(tenant=tenant)


def token_in(message) -> str:
    return LINK.search(message.body).group(1)


def refresh(obj):
    with tenant_context(obj.tenant):
        obj.refresh_from_db()
    return obj


# --- sending, tokens, content -----------------------------------------------------------------

def test_it_sends_an_invitation_through_the_outbox_with_a_stable_message_id(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a, name="Ann Smith")
    with django_capture_on_commit_callbacks(execute=True):
        result = send(world, survey, [contact])
    assert (result.queued, result.skipped, result.replayed) == (1, {}, False)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    invitation = refresh(result.invitations[0])
    assert invitation.status == Status.SENT
    assert invitation.sent_at is not None
    assert message.to == [contact.email]
    assert message.extra_headers["Message-ID"] == f"<invitation-{invitation.uuid}@cxm.localhost>"
    token = token_in(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<http://testserver/s/{token}/opt-out/>".replace("http://testserver",
                                                                                                           dist.settings.SITE_URL)
    assert "Hello Ann Smith," in message.body
    assert "How did we do? (en)" in message.subject
    with tenant_context(world.a):
        email = OutboundEmail.objects.get()
        assert (email.status, email.attempts, email.kind, email.invitation_id) == ("sent", 1, "invitation", invitation.pk)
        assert AuditEvent.objects.filter(action="survey.sent").count() == 1


def test_it_keeps_only_the_tokens_hash_and_the_token_has_at_least_128_bits(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = send(world, survey, [contact]).invitations[0]
    token = token_in(mail.outbox[0])
    assert len(token) >= 43
    assert len(dist.base64.urlsafe_b64decode(token + "=")) * 8 >= 256
    invitation = refresh(invitation)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with tenant_context(world.a):
        stored = [str(v) for row in Invitation.objects.values() for v in row.values()]
        stored += [str(v) for row in OutboundEmail.objects.values() for v in row.values()]
    assert not any(token in value for value in stored), "the raw token is stored somewhere"
    assert any(dist.TOKEN_PLACEHOLDER in value for value in stored)  # the outbox keeps a placeholder
    # Without the server's key, the salt and hash do not give the token back.
    with override_settings(SECRET_KEY="another-key-" + "y" * 40):
        assert dist.invitation_token(invitation) != token


def test_it_writes_the_email_in_the_contacts_language_with_score_buttons(world, django_capture_on_commit_callbacks):
    world.a.sender_name, world.a.sender_email = "Acme Care", "care@acme.example"
    world.a.save()
    survey = live_survey(world.a, languages=("en", "fr"))
    contact = ContactFactory(client__tenant=world.a, locale="fr", name="Luc")
    de_contact = ContactFactory(client__tenant=world.a, locale="de")
    with django_capture_on_commit_callbacks(execute=True):
        result = send(world, survey, [contact, de_contact])
    by_to = {m.to[0]: m for m in mail.outbox}
    french, fallback = by_to[contact.email], by_to[de_contact.email]
    assert french.from_email == "Acme Care <care@acme.example>"
    assert "Bonjour Luc," in french.body
    assert "Score question fr" in french.body
    assert french.subject == "How did we do? (fr)"
    assert "Se désinscrire" in french.body
    assert "Hello" in fallback.body
    assert "Score question en" in fallback.body  # German is not offered: the default
    token = token_in(french)
    html = french.alternatives[0][0]
    for score in range(11):
        assert f"/s/{token}/?score={score}" in html
        assert f"/s/{token}/?score={score}" in french.body
    assert {i.language for i in result.invitations} == {"fr", "en"}


def test_it_embeds_no_buttons_for_other_kinds(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a, kind="ces")
    with django_capture_on_commit_callbacks(execute=True):
        send(world, survey, [ContactFactory(client__tenant=world.a)])
    assert "?score=" not in mail.outbox[0].body


# --- the rules ----------------------------------------------------------------------------------

def test_it_skips_with_a_reason_and_shows_it_in_the_send_log(world, client, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    other = live_survey(world.a, name="Other survey")
    ok = ContactFactory(client__tenant=world.a, name="Okay Person")
    opted = ContactFactory(client__tenant=world.a, opted_out=True, name="Opted Person")
    no_email = ContactFactory(client__tenant=world.a, email="", name="Nomail Person")
    churned = ContactFactory(client=ClientFactory(tenant=world.a, status=Client.Status.CHURNED, churned_on=timezone.localdate()),
                             name="Churned Person")
    tired = ContactFactory(client__tenant=world.a, name="Tired Person")
    with django_capture_on_commit_callbacks(execute=True):
        send(world, other, [tired])  # sent today: within the 30-day fatigue period
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = send(world, survey, [ok, opted, no_email, churned, tired])
    reasons = {i.contact.name: i.skip_reason for i in result.invitations}
    assert reasons == {"Okay Person": "", "Opted Person": Skip.OPTED_OUT, "Nomail Person": Skip.NO_EMAIL,
                       "Churned Person": Skip.CHURNED, "Tired Person": Skip.FATIGUED}
    assert [m.to for m in mail.outbox] == [[ok.email]]
    # The same contact again in another send, while the first invitation is open: a duplicate.
    with tenant_context(world.a):
        Invitation.objects.filter(contact=ok).update(sent_at=timezone.now() - timedelta(days=40))  # not fatigued any more
    dup = send(world, survey, [ok]).invitations[0]
    assert dup.skip_reason == Skip.DUPLICATE

    client.force_login(world.carol)
    page = client.get(f"/t/acme/surveys/{survey.uuid}/log/")
    assert page.status_code == 200
    html = page.content.decode()
    for words in ("Contact opted out", "No e-mail address", "Client has churned", "Surveyed too recently (fatigue rule)",
                  "Already invited for this"):
        assert words in html
    filtered = client.get(f"/t/acme/surveys/{survey.uuid}/log/", {"status": "skipped", "skip_reason": "fatigued"}).content.decode()
    assert "Tired Person" in filtered
    assert "Opted Person" not in filtered
    assert client.get(f"/t/acme/surveys/{survey.uuid}/log/", {"status": "nonsense"}).status_code == 400


def test_it_skips_a_closed_or_paused_survey(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a, trigger=Survey.Trigger.AFTER_INTERACTION, trigger_delay_minutes=0,
                         touchpoint=TouchpointFactory(tenant=world.a))
    with tenant_context(world.a):
        survey.status = Survey.Status.PAUSED
        survey.save()
    contact = ContactFactory(client__tenant=world.a)
    interaction = InteractionFactory(staff=world.membership(world.bob, world.a), client=contact.client, contact=contact,
                                     touchpoint=survey.touchpoint)
    with tenant_context(world.a):
        made = dist.invitations_for_interaction(tenant=world.a, interaction_id=interaction.pk)
    assert [i.skip_reason for i in made] == [Skip.SURVEY_CLOSED]
    with pytest.raises(dist.ValidationError):
        send(world, survey, [contact])


def test_it_checks_the_rules_again_at_send_time(world, django_capture_on_commit_callbacks):
    first, second = live_survey(world.a), live_survey(world.a, name="Second")
    both = ContactFactory(client__tenant=world.a)
    late_opt_out = ContactFactory(client__tenant=world.a)
    a = send(world, first, [both, late_opt_out]).invitations
    b = send(world, second, [both]).invitations  # queued too: nothing was sent yet
    assert {i.status for i in a + b} == {Status.QUEUED}
    with tenant_context(world.a):
        Contact.objects.filter(pk=late_opt_out.pk).update(opted_out=True)
    deliver(world.a)
    assert [m.to for m in mail.outbox] == [[both.email]]
    assert (refresh(a[0]).status, refresh(a[1]).skip_reason, refresh(b[0]).skip_reason) == (Status.SENT, Skip.OPTED_OUT, Skip.FATIGUED)


def test_a_retried_manual_send_does_not_duplicate(world, client, api_client, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    contacts = [ContactFactory(client__tenant=world.a) for _ in range(3)]
    client.force_login(world.carol)
    batch = str(uuid.uuid4())
    body = {"batch": batch, "contacts": [str(c.uuid) for c in contacts[:2]], "segment": "", "action": "confirm"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/t/acme/surveys/{survey.uuid}/send/", body)
        again = client.post(f"/t/acme/surveys/{survey.uuid}/send/", body, follow=True)
    assert first.status_code == 302
    progress = first["Location"]
    assert "already made" in again.content.decode()
    assert "2 invitations queued." in client.get(progress).content.decode()  # the task ran on commit
    with tenant_context(world.a):
        assert Invitation.objects.count() == 2
        assert OutboundEmail.objects.count() == 2
        made = ManualSend.objects.get()
        assert made.status == ManualSend.Status.DONE
    assert progress == f"/t/acme/surveys/sends/{made.uuid}/"
    assert len(mail.outbox) == 2

    api_client.force_login(world.carol)
    url = f"/api/v1/t/acme/surveys/{survey.uuid}/distribute/"
    api_batch = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        one = api_client.post(url, {"contacts": [str(contacts[2].uuid)], "batch": api_batch}, format="json")
    two = api_client.post(url, {"contacts": [str(contacts[2].uuid)], "batch": api_batch}, format="json")
    assert (one.status_code, two.status_code) == (202, 200)
    assert (one.json()["status"], one.json()["total"]) == ("queued", 1)  # recorded; the worker makes the invitation
    assert (two.json()["replayed"], two.json()["status"], two.json()["queued"]) == (True, "done", 1)
    followed = api_client.get(one.json()["progress"]).json()
    assert (followed["batch"], followed["done"], followed["total"]) == (api_batch, 1, 1)
    listed = api_client.get(one.json()["invitations"]).json()
    assert [row["contact"] for row in listed["results"]] == [str(contacts[2].uuid)]
    with tenant_context(world.a):
        assert Invitation.objects.count() == 3


def test_a_large_send_runs_in_the_background_in_chunks_and_resumes_after_a_crash(world, client, monkeypatch,
                                                                                   django_capture_on_commit_callbacks):
    """The request records the send and answers at once; the task makes CHUNK invitations per transaction
    (progress visible between them); killed mid-way and run again, it continues and invites nobody twice."""
    from apps.surveys.distribution import manual

    monkeypatch.setattr(manual, "CHUNK", 4)
    survey = live_survey(world.a)
    segment = SegmentFactory(tenant=world.a)
    people = [ContactFactory(client=ClientFactory(tenant=world.a, segment=segment)) for _ in range(10)]
    people[3].opted_out = True
    with tenant_context(world.a):
        people[3].save()
    client.force_login(world.carol)
    batch = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = client.post(f"/t/acme/surveys/{survey.uuid}/send/", {"batch": batch, "segment": str(segment.uuid), "action": "confirm"})
    assert answer.status_code == 302
    with tenant_context(world.a):
        send_row = ManualSend.objects.get()
        assert (send_row.status, send_row.total, send_row.done, Invitation.objects.count()) == ("queued", 10, 0, 0)
    assert len(queued) == 1  # the task, queued on commit: nothing was made inside the request
    page = client.get(answer["Location"])
    assert "Waiting for a worker: 0 of 10 contacts (0%)" in page.content.decode()

    # The worker dies while making the second chunk (after the first chunk committed).
    real_create, calls = manual.invitation_create, []

    def dies_on_the_sixth(**kwargs):
        calls.append(kwargs["contact"].pk)
        if len(calls) == 6:
            raise RuntimeError("worker killed")
        return real_create(**kwargs)

    monkeypatch.setattr(manual, "invitation_create", dies_on_the_sixth)
    with pytest.raises(RuntimeError):
        manual.manual_send_run(tenant=world.a, send_id=send_row.pk)
    status = client.get(f"{answer['Location']}status/").json()
    assert (status["status"], status["done"], status["total"], status["percent"], status["finished"]) == ("running", 4, 10, 40, False)

    rerun = []
    monkeypatch.setattr(manual, "invitation_create", lambda **kwargs: rerun.append(kwargs["contact"].pk) or real_create(**kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        done = manual.manual_send_run(tenant=world.a, send_id=send_row.pk)  # the redelivered task
        manual.manual_send_run(tenant=world.a, send_id=send_row.pk)  # and once more: a finished send is left alone
    assert (done.status, done.done, done.queued, done.skipped) == ("done", 10, 9, {Skip.OPTED_OUT: 1})
    assert rerun == sorted(p.pk for p in people)[4:], "the rerun picks up after the chunk that committed"
    with tenant_context(world.a):
        assert Invitation.objects.count() == 10
        assert sorted(Invitation.objects.values_list("contact_id", flat=True)) == sorted(p.pk for p in people)
        assert AuditEvent.objects.filter(action="survey.sent").count() == 1
    assert len(mail.outbox) == 9
    page = client.get(answer["Location"]).content.decode()
    assert "9 invitations queued, 1 not sent (1 contact opted out)." in page
    log = client.get(f"/t/acme/surveys/{survey.uuid}/log/?batch={batch}&skip_reason=opted_out").content.decode()
    assert "1 invitation match" in log
    assert people[3].name in log


def test_the_send_page_shows_the_form_and_rejects_an_empty_send(world, client):
    survey = live_survey(world.a)
    client.force_login(world.carol)
    page = client.get(f"/t/acme/surveys/{survey.uuid}/send/")
    assert page.status_code == 200
    assert 'name="batch"' in page.content.decode()
    empty = client.post(f"/t/acme/surveys/{survey.uuid}/send/", {"batch": str(uuid.uuid4())})
    assert empty.status_code == 400
    assert "Choose a segment or at least one contact." in empty.content.decode()
    foreign = ContactFactory(client__tenant=world.b)
    wrong = client.post(f"/t/acme/surveys/{survey.uuid}/send/", {"batch": str(uuid.uuid4()), "contacts": [str(foreign.uuid)]})
    assert wrong.status_code == 400
    with tenant_context(world.a):
        assert Invitation.objects.count() == 0


def test_it_sends_to_a_segment(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    segment = SegmentFactory(tenant=world.a)
    inside = [ContactFactory(client=ClientFactory(tenant=world.a, segment=segment)) for _ in range(3)]
    ContactFactory(client__tenant=world.a)  # outside the segment
    with django_capture_on_commit_callbacks(execute=True):
        result = send(world, survey, segment=segment)
    assert {i.contact_id for i in result.invitations} == {c.pk for c in inside}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in inside)


# --- after an interaction, recurring ------------------------------------------------------------

def test_an_interaction_triggers_an_invitation_after_the_delay(world, django_capture_on_commit_callbacks):
    from apps.touchpoints.interactions.services import interaction_log

    touchpoint = TouchpointFactory(tenant=world.a)
    live_survey(world.a, trigger=Survey.Trigger.AFTER_INTERACTION, trigger_delay_minutes=120, touchpoint=touchpoint)
    acme_client = ClientFactory(tenant=world.a)
    ContactFactory(client=acme_client, opted_out=True, name="A opted out")
    reachable = ContactFactory(client=acme_client, name="B reachable")
    staff = world.membership(world.bob, world.a)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        interaction, _ = interaction_log(tenant=world.a, staff=staff, client=acme_client, touchpoint=touchpoint, outcome="resolved",
                                         summary="Fixed it")
    with tenant_context(world.a):
        invitation = Invitation.objects.get()
        assert invitation.contact == reachable
        assert invitation.interaction == interaction  # no contact named: the first reachable
        assert invitation.send_after == interaction.occurred_at + timedelta(minutes=120)
        assert (invitation.status, invitation.dedupe_key) == (Status.QUEUED, f"interaction:{interaction.uuid}")
        again = dist.invitations_for_interaction(tenant=world.a, interaction_id=interaction.pk)
        assert [i.pk for i in again] == [invitation.pk]
        assert Invitation.objects.count() == 1
    deliver(world.a)
    assert mail.outbox == []  # not before the delay
    with tenant_context(world.a):
        Invitation.objects.update(send_after=timezone.now() - timedelta(minutes=1))
    deliver(world.a)
    assert [m.to for m in mail.outbox] == [[reachable.email]]
    # Another touchpoint: nothing.
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        interaction_log(tenant=world.a, staff=staff, client=acme_client, touchpoint=TouchpointFactory(tenant=world.a),
                        outcome="resolved", summary="Elsewhere")
        assert Invitation.objects.count() == 1


def test_a_recurring_survey_asks_each_contact_once_per_period(world):
    segment = SegmentFactory(tenant=world.a)
    live_survey(world.a, trigger=Survey.Trigger.RECURRING, recurring_months=6, recurring_segment=segment)
    active = [ContactFactory(client=ClientFactory(tenant=world.a, segment=segment)) for _ in range(2)]
    ContactFactory(client=ClientFactory(tenant=world.a, segment=segment, status=Client.Status.PROSPECT))
    ContactFactory(client=ClientFactory(tenant=world.a))  # other segment
    with tenant_context(world.a):
        assert dist.invitations_create_recurring(tenant=world.a) == 2
        assert dist.invitations_create_recurring(tenant=world.a) == 0  # asked within 6 months
        assert {i.contact_id for i in Invitation.objects.all()} == {c.pk for c in active}
        assert all(i.dedupe_key.startswith("recurring:") for i in Invitation.objects.all())
        Invitation.objects.update(created_at=timezone.now() - timedelta(days=200))
        assert dist.invitations_create_recurring(tenant=world.a) == 0  # same period: the dedupe key holds
        later = timezone.now() + timedelta(days=40)
        assert dist.invitations_create_recurring(tenant=world.a, now=later) == 2


# --- reminders, expiry --------------------------------------------------------------------------

def _age(invitation, days):
    with tenant_context(invitation.tenant):
        inv = Invitation.objects.get(pk=invitation.pk)
        past = timezone.now() - timedelta(days=days)
        Invitation.objects.filter(pk=inv.pk).update(sent_at=past, last_reminder_at=past if inv.last_reminder_at else None)


def remind(tenant):
    with tenant_context(tenant):
        count = dist.reminders_send_due(tenant=tenant)
    outbox_deliver(tenant=tenant)
    return count


def test_reminders_follow_the_count_and_interval_and_reuse_the_link(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a, reminder_count=2, reminder_interval_days=3)
    contact = ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = send(world, survey, [contact]).invitations[0]
    token = token_in(mail.outbox[0])
    assert remind(world.a) == 0  # not yet 3 days
    _age(invitation, 4)
    assert remind(world.a) == 1
    assert remind(world.a) == 0  # the interval runs from the last reminder
    _age(invitation, 4)
    assert remind(world.a) == 1
    _age(invitation, 4)
    assert remind(world.a) == 0  # the count is reached
    assert len(mail.outbox) == 3
    reminders = mail.outbox[1:]
    assert all(token_in(m) == token for m in reminders), "reminders reuse the same link"
    assert all(m.subject.startswith("Reminder:") for m in reminders)
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(set(ids)) == 3
    assert refresh(invitation).reminders_sent == 2


def test_reminders_stop_once_a_response_arrives(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a, reminder_count=3, reminder_interval_days=1)
    answered, silent = ContactFactory(client__tenant=world.a), ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        invitations = {i.contact_id: i for i in send(world, survey, [answered, silent]).invitations}
    # A response exists but the invitation's status was not (yet) moved: the check under the lock sees it.
    ResponseFactory(version=survey.current_version, invitation=invitations[answered.pk], channel="email")
    for inv in invitations.values():
        _age(inv, 2)
    mail.outbox.clear()
    assert remind(world.a) == 1
    assert [m.to for m in mail.outbox] == [[silent.email]]


def test_expired_invitations_are_marked_and_get_no_reminder(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a, reminder_count=1, reminder_interval_days=1)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = send(world, survey, [ContactFactory(client__tenant=world.a)]).invitations[0]
    with tenant_context(world.a):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1), sent_at=timezone.now() - timedelta(days=2))
        assert dist.invitations_expire(tenant=world.a) == 1
        assert dist.reminders_send_due(tenant=world.a) == 0
    assert refresh(invitation).status == Status.EXPIRED


# --- opt-out --------------------------------------------------------------------------------------

def test_opting_out_is_a_post_and_is_honoured_by_later_sends(world, client, django_capture_on_commit_callbacks):
    survey, later_survey = live_survey(world.a), live_survey(world.a, name="Later")
    contact = ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = send(world, survey, [contact]).invitations[0]
    token = token_in(mail.outbox[0])
    queued = send(world, later_survey, [contact]).invitations[0]  # fatigued anyway, but queued ones must be skipped
    with tenant_context(world.a):
        Invitation.objects.filter(pk=queued.pk).update(status=Status.QUEUED, skip_reason="")
    url = f"/s/{token}/opt-out/"
    for _ in range(3):
        page = client.get(url)
        assert page.status_code == 200
        assert "Stop sending me surveys" in page.content.decode()
    assert not refresh(contact).opted_out, "a GET never opts out (mail scanners open links)"
    done = client.post(url)
    assert done.status_code == 200
    assert "will not send you survey invitations" in done.content.decode()
    assert refresh(contact).opted_out
    assert (refresh(queued).status, refresh(queued).skip_reason) == (Status.SKIPPED, Skip.OPTED_OUT)
    with tenant_context(world.a):
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(days=90))
    third = live_survey(world.a, name="Third")
    assert send(world, third, [contact]).invitations[0].skip_reason == Skip.OPTED_OUT
    assert client.post(url).status_code == 200  # idempotent


def test_opt_out_works_for_an_expired_link_and_404s_for_unknown_tokens(world, client, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        send(world, survey, [contact])
    token = token_in(mail.outbox[0])
    with tenant_context(world.a):
        Invitation.objects.update(status=Status.EXPIRED, expires_at=timezone.now() - timedelta(days=1))
    assert client.post(f"/s/{token}/opt-out/").status_code == 200
    assert refresh(contact).opted_out
    unknown = client.get(f"/s/{token[:-2]}xx/opt-out/")
    assert unknown.status_code == 404
    assert client.post(f"/s/{token[:-2]}xx/opt-out/").content == unknown.content
    assert "This survey link is not available" in unknown.content.decode()


def test_one_click_unsubscribe_posts_without_a_csrf_token(world, django_capture_on_commit_callbacks):
    from django.test import Client as DjangoClient

    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        send(world, survey, [contact])
    strict = DjangoClient(enforce_csrf_checks=True)
    url = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>").split("/s/", 1)[1]
    assert strict.post("/s/" + url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert refresh(contact).opted_out


# --- the outbox -----------------------------------------------------------------------------------

class FlakyBackend(BaseEmailBackend):
    """Fails the way a down SMTP server does, or refuses the recipient (REFUSE)."""

    mode = "down"

    def send_messages(self, messages):
        if FlakyBackend.mode == "refuse":
            raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"5.1.1 no such user")})
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@override_settings(EMAIL_BACKEND="tests.test_surveys_distribution.FlakyBackend", OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=60)
def test_the_outbox_backs_off_then_gives_up_and_the_invitation_fails(world):
    FlakyBackend.mode = "down"
    survey = live_survey(world.a)
    invitation = send(world, survey, [ContactFactory(client__tenant=world.a)]).invitations[0]
    started = timezone.now()
    counts = deliver(world.a)
    assert counts["retry"] == 1
    assert 0 < counts["next_in"] <= 60
    with tenant_context(world.a):
        email = OutboundEmail.objects.get()
        assert (email.status, email.attempts) == ("pending", 1)
        assert "SMTPServerDisconnected" in email.last_error
        assert started + timedelta(seconds=59) < email.next_attempt_at < timezone.now() + timedelta(seconds=61)
        assert outbox_deliver(tenant=world.a)["retry"] == 0  # not due yet
        for expected_wait in (120, 240):
            OutboundEmail.objects.update(next_attempt_at=timezone.now())
            outbox_deliver(tenant=world.a)
            email.refresh_from_db()
            if email.status == "pending":
                assert email.next_attempt_at > timezone.now() + timedelta(seconds=expected_wait - 5)
        assert (email.status, email.attempts) == ("failed", 3)
        assert email.last_error.startswith("Gave up after 3 attempts")
    assert refresh(invitation).status == Status.FAILED
    assert mail.outbox == []


@override_settings(EMAIL_BACKEND="tests.test_surveys_distribution.FlakyBackend")
def test_a_refused_address_marks_the_invitation_bounced(world):
    FlakyBackend.mode = "refuse"
    survey = live_survey(world.a)
    invitation = send(world, survey, [ContactFactory(client__tenant=world.a)]).invitations[0]
    assert deliver(world.a)["failed"] == 1
    assert refresh(invitation).status == Status.BOUNCED


def test_the_outbox_page_lists_failed_emails_first(world, client):
    survey = live_survey(world.a)
    invitations = send(world, survey, [ContactFactory(client__tenant=world.a) for _ in range(2)]).invitations
    with tenant_context(world.a):
        dist.invitations_dispatch_due(tenant=world.a)
        OutboundEmail.objects.filter(invitation=invitations[1]).update(status="failed", last_error="Gave up: boom")
    client.force_login(world.alice)
    html = client.get("/t/acme/surveys/outbox/").content.decode()
    assert html.index("Gave up: boom") < html.index("Pending")
    client.force_login(world.carol)
    assert client.get("/t/acme/surveys/outbox/").status_code == 403


# --- test e-mail ----------------------------------------------------------------------------------

def test_the_test_email_goes_to_me_and_links_to_the_preview(world, client, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    client.force_login(world.carol)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/t/acme/surveys/{survey.uuid}/test-email/")
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    message = mail.outbox[0]
    assert message.subject.startswith("[TEST]")
    assert "/s/" not in message.body
    assert f"/t/acme/surveys/{survey.uuid}/" in message.body
    with tenant_context(world.a):
        assert Invitation.objects.count() == 0
        assert OutboundEmail.objects.get().kind == "test"
    assert client.get(f"/t/acme/surveys/{survey.uuid}/test-email/").status_code == 405


# --- API ------------------------------------------------------------------------------------------

def test_the_invitations_api_lists_and_filters_without_tokens(world, api_client):
    survey = live_survey(world.a)
    contacts = [ContactFactory(client__tenant=world.a), ContactFactory(client__tenant=world.a, opted_out=True)]
    send(world, survey, contacts)
    b_survey = live_survey(world.b)
    send(world, b_survey, [ContactFactory(client__tenant=world.b)])
    api_client.force_login(world.carol)
    body = api_client.get("/api/v1/t/acme/survey-invitations/").json()
    assert body["count"] == 2
    assert {r["status"] for r in body["results"]} == {"queued", "skipped"}
    assert all("token" not in key for r in body["results"] for key in r)
    skipped = api_client.get("/api/v1/t/acme/survey-invitations/", {"status": "skipped", "survey": str(survey.uuid)}).json()
    assert [r["skip_reason_label"] for r in skipped["results"]] == ["Contact opted out"]
    one = skipped["results"][0]
    assert api_client.get(f"/api/v1/t/acme/survey-invitations/{one['id']}/").json()["contact"] == str(contacts[1].uuid)
    assert api_client.get("/api/v1/t/acme/survey-invitations/", {"survey": str(b_survey.uuid)}).status_code == 400
    api_client.force_login(world.bob)
    assert api_client.get("/api/v1/t/acme/survey-invitations/").status_code == 403


# --- constant queries ----------------------------------------------------------------------------

def _invitations(world, survey, n):
    contacts = [ContactFactory(client__tenant=world.a) for _ in range(n)]
    send(world, survey, contacts)
    with tenant_context(world.a):
        dist.invitations_dispatch_due(tenant=world.a)


@pytest.mark.parametrize("rows", [3, 30])
def test_the_send_log_runs_constant_queries(world, client, django_assert_max_num_queries, rows):
    survey = live_survey(world.a)
    _invitations(world, survey, rows)
    client.force_login(world.carol)
    with django_assert_max_num_queries(16):
        assert client.get(f"/t/acme/surveys/{survey.uuid}/log/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/t/acme/survey-invitations/").status_code == 200
    client.force_login(world.alice)
    with django_assert_max_num_queries(14):
        assert client.get("/t/acme/surveys/outbox/").status_code == 200
