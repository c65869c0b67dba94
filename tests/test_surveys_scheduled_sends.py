"""Sending (issue 20 item 4): before a manual send the page shows how many will be invited and how many skipped and
why — the distribution rules themselves, equal contact by contact to `skip_reason`; a contact picker with search and
a segment filter; a send scheduled for a date and time in the workspace's zone, started by the beat then, and
cancellable until it starts; the same through the API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.surveys.distribution import manual
from apps.surveys.distribution import services as dist
from apps.surveys.models import Invitation, ManualSend
from apps.surveys.tasks import fan_out_start_scheduled_sends
from apps.tenancy.context import tenant_context
from apps.tenancy.due import due_note
from apps.tenancy.models import AuditEvent
from tests.builders import live_survey, send
from tests.factories import ClientFactory, ContactFactory, SegmentFactory

pytestmark = pytest.mark.postgres


def population(world, survey):
    """One contact per rule, and two who may be invited, all in one segment."""
    segment = SegmentFactory(tenant=world.a, name="Everyone")
    make = lambda **kw: ContactFactory(client=ClientFactory(tenant=world.a, segment=segment), **kw)  # noqa: E731
    people = {"ok": make(name="Ann Able"), "ok2": make(name="Bob Baker"), "opted": make(name="Olga Out", opted_out=True),
              "no_email": make(name="Nina None", email=""), "churned": make(name="Carl Churn"),
              "fatigued": make(name="Fay Tired"), "duplicate": make(name="Dan Twice")}
    with tenant_context(world.a):
        Client.objects.filter(pk=people["churned"].client_id).update(status="churned", churned_on=timezone.now().date() - timedelta(days=3))
        other = live_survey(world.a, kind="csat")
    send(world, other, [people["fatigued"]])  # sent another survey just now: the fatigue rule
    with tenant_context(world.a):
        Invitation.objects.filter(contact=people["fatigued"]).update(status="sent", sent_at=timezone.now())
        dist.invitation_create(tenant=world.a, survey=survey, contact=people["duplicate"], source="manual", dedupe_key="open",
                               dispatch=False)
    return segment, people


def test_the_bulk_rules_equal_the_one_by_one_rules(world):
    survey = live_survey(world.a)
    segment, people = population(world, survey)
    now = timezone.now()
    with tenant_context(world.a):
        contacts = list(Contact.objects.select_related("client").filter(pk__in=[c.pk for c in people.values()]))
        bulk = dist.skip_reasons_bulk(tenant=world.a, survey=survey, contacts=contacts, now=now)
        one_by_one = {c.pk: dist.skip_reason(tenant=world.a, survey=survey, contact=c, client=c.client, now=now) for c in contacts}
    assert bulk == one_by_one
    assert sorted(bulk.values()) == sorted(["", "", "opted_out", "no_email", "churned", "fatigued", "duplicate"])


def test_the_page_reviews_the_audience_before_anything_is_sent(world, client, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    segment, people = population(world, survey)
    client.force_login(world.carol)
    url = f"/t/acme/surveys/{survey.uuid}/send/"
    batch = str(uuid.uuid4())
    review = client.post(url, {"batch": batch, "segment": str(segment.uuid), "action": "review"})
    html = review.content.decode()
    assert review.status_code == 200
    assert "2 of 7 contacts will be invited" in html
    for line in ("Contact opted out: 1", "Surveyed too recently (fatigue rule): 1", "No e-mail address: 1", "Client has churned: 1",
                 "Already invited for this: 1"):
        assert line in html, line
    assert "Send 2 invitations now" in html
    with tenant_context(world.a):
        assert not ManualSend.objects.filter(survey=survey).exists()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"batch": batch, "segment": str(segment.uuid), "action": "confirm"})
    assert sent.status_code == 302
    with tenant_context(world.a):
        made = ManualSend.objects.get(survey=survey)
        assert (made.queued, made.skipped_total) == (2, 5)  # what the review said


def test_the_picker_finds_contacts_and_keeps_the_chosen_ones(world, client):
    survey = live_survey(world.a)
    segment, people = population(world, survey)
    client.force_login(world.carol)
    url = f"/t/acme/surveys/{survey.uuid}/send/"
    found = client.post(url, {"batch": str(uuid.uuid4()), "find": "bak", "action": "find"}).content.decode()
    assert "Bob Baker" in found
    assert "Ann Able" not in found
    kept = client.post(url, {"batch": str(uuid.uuid4()), "find": "able", "contacts": [str(people["ok2"].uuid)], "action": "find"})
    html = kept.content.decode()
    assert kept.status_code == 200
    assert f'value="{people["ok2"].uuid}" id="c-{people["ok2"].uuid}" checked' in html  # chosen before, still ticked
    assert "Ann Able" in html
    assert "Olga Out" not in client.post(url, {"batch": str(uuid.uuid4()), "find": "olga", "action": "find"}).content.decode()
    in_segment = client.post(url, {"batch": str(uuid.uuid4()), "find_segment": str(SegmentFactory(tenant=world.a).uuid),
                                   "action": "find"}).content.decode()
    assert "No contact matches." in in_segment


def test_a_scheduled_send_starts_at_its_time_in_the_workspace_zone_and_can_be_cancelled(world, client,
                                                                                       django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    segment, people = population(world, survey)
    client.force_login(world.carol)
    url = f"/t/acme/surveys/{survey.uuid}/send/"
    brussels = ZoneInfo(world.a.time_zone)
    at = (timezone.now() + timedelta(days=2)).astimezone(brussels).replace(hour=9, minute=30, second=0, microsecond=0)
    form = {"batch": str(uuid.uuid4()), "contacts": [str(people["ok"].uuid)], "when": "later", "scheduled_for": at.strftime("%Y-%m-%dT%H:%M")}
    review = client.post(url, form | {"action": "review"}).content.decode()
    assert f"1 of 1 contact will be invited at {at:%-d %b %Y}, 09:30 ({world.a.time_zone})" in review
    made = client.post(url, form | {"action": "confirm"})
    assert made.status_code == 302
    with tenant_context(world.a):
        scheduled = ManualSend.objects.get(survey=survey)
        assert (scheduled.status, scheduled.scheduled_for) == ("scheduled", at)
        assert Invitation.objects.filter(survey=survey).count() == 1  # only the population's open one
    progress = client.get(made["Location"]).content.decode()
    assert "Starts " in progress
    assert "09:30" in progress
    # Not yet due: the beat leaves it; at its time it starts and its invitations go out.
    with tenant_context(world.a):
        assert manual.manual_sends_start_due(tenant=world.a, now=at - timedelta(minutes=1)) == 0
        with django_capture_on_commit_callbacks(execute=True):
            assert manual.manual_sends_start_due(tenant=world.a, now=at) == 1
        assert ManualSend.objects.get(survey=survey).status == "done"
        assert Invitation.objects.get(contact=people["ok"]).status == "sent"
    assert [people["ok"].email] in [m.to for m in mail.outbox]

    # A second one, cancelled before it starts: nothing is ever sent.
    later = dict(form, batch=str(uuid.uuid4()), contacts=[str(people["ok2"].uuid)])
    second = client.post(url, later | {"action": "confirm"})
    cancel_url = second["Location"] + "cancel/"
    assert client.post(cancel_url).status_code == 302
    assert "cancelled before it started" in client.get(second["Location"]).content.decode()
    with tenant_context(world.a):
        cancelled = ManualSend.objects.get(batch=later["batch"])
        assert cancelled.status == "cancelled"
        assert manual.manual_sends_start_due(tenant=world.a, now=at + timedelta(days=1)) == 0
        assert not Invitation.objects.filter(contact=people["ok2"], survey=survey).exists()
        assert AuditEvent.objects.filter(action__in=["survey.send_scheduled", "survey.send_cancelled"]).count() == 3
    assert [people["ok2"].email] not in [m.to for m in mail.outbox]
    again = client.post(cancel_url, follow=True).content.decode()
    assert "Only a scheduled send can be cancelled" in again


def test_a_moment_in_the_past_or_too_far_is_refused(world, client):
    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a)
    client.force_login(world.carol)
    url = f"/t/acme/surveys/{survey.uuid}/send/"
    for moment in (timezone.now() - timedelta(hours=1), timezone.now() + timedelta(days=400)):
        local = moment.astimezone(ZoneInfo(world.a.time_zone)).strftime("%Y-%m-%dT%H:%M")
        refused = client.post(url, {"batch": str(uuid.uuid4()), "contacts": [str(contact.uuid)], "when": "later",
                                    "scheduled_for": local, "action": "confirm"})
        assert refused.status_code == 400
        assert "Choose a moment in the future, within a year." in refused.content.decode()
    missing = client.post(url, {"batch": str(uuid.uuid4()), "contacts": [str(contact.uuid)], "when": "later", "action": "review"})
    assert "Give the date and time to send at." in missing.content.decode()
    with tenant_context(world.a):
        assert not ManualSend.objects.filter(survey=survey).exists()


def test_the_beat_wakes_the_tenant_when_its_send_falls_due(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):  # its note is written on commit
        made, _ = manual.manual_send_start(tenant=world.a, acting_user=world.carol, survey=survey, batch=uuid.uuid4(),
                                           contacts=[contact], scheduled_for=timezone.now() + timedelta(hours=1))
    with tenant_context(world.a):
        ManualSend.objects.filter(pk=made.pk).update(scheduled_for=timezone.now() - timedelta(minutes=1))  # its time has come
    with django_capture_on_commit_callbacks(execute=True):  # the note is written once its transaction commits
        due_note(world.a.pk, "scheduled-sends", timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        fan_out_start_scheduled_sends()
    with tenant_context(world.a):
        assert ManualSend.objects.get(pk=made.pk).status == "done"
        assert Invitation.objects.filter(contact=contact).count() == 1


def test_the_api_counts_the_audience_schedules_and_cancels(world, api_client):
    survey = live_survey(world.a)
    segment, people = population(world, survey)
    api_client.force_login(world.carol)
    counted = api_client.post(f"/api/v1/t/acme/surveys/{survey.uuid}/audience/", {"segment": str(segment.uuid)}, format="json").json()
    assert (counted["total"], counted["invited"]) == (7, 2)
    assert counted["skipped"] == {"opted_out": 1, "no_email": 1, "churned": 1, "fatigued": 1, "duplicate": 1}
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    made = api_client.post(f"/api/v1/t/acme/surveys/{survey.uuid}/distribute/", {"segment": str(segment.uuid),
                                                                                  "scheduled_for": at.isoformat()}, format="json")
    assert made.status_code == 202
    assert (made.json()["status"], datetime.fromisoformat(made.json()["scheduled_for"])) == ("scheduled", at)
    cancel = f"/api/v1/t/acme/survey-sends/{made.json()['id']}/cancel/"
    assert api_client.post(cancel, format="json").json()["status"] == "cancelled"
    assert api_client.post(cancel, format="json").status_code == 400
    past = api_client.post(f"/api/v1/t/acme/surveys/{survey.uuid}/distribute/",
                           {"segment": str(segment.uuid), "scheduled_for": (timezone.now() - timedelta(days=1)).isoformat()}, format="json")
    assert past.status_code == 400
