"""Surveys end to end on real parts: Postgres (the app role, RLS on), Redis, a Celery worker process
and an SMTP server (aiosmtpd on 127.0.0.1, started and stopped here).

An interaction is logged → the worker makes the invitation (after-interaction trigger, no delay),
writes it to the outbox and sends it → the e-mail arrives in the sink → its link is answered over
HTTP → the response carries the interaction's attribution → the reminder task reminds the contact
who did not answer, and not the one who did."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messaging.models import OutboundEmail
from apps.surveys.distribution.services import token_hash
from apps.surveys.models import Invitation, Response
from apps.surveys.tasks import send_reminders
from apps.tenancy.context import tenant_context
from apps.touchpoints.interactions.services import interaction_log
from tests.builders import live_survey
from tests.factories import ClientFactory, ContactFactory, SegmentFactory, StageFactory, TouchpointFactory
from tests.live_parts import SURVEY_LINK, hidden_inputs, wait_until
from tests.smtp_sink import html_of, text_of

pytestmark = [pytest.mark.postgres, pytest.mark.services]


def test_an_interaction_leads_to_an_email_a_response_and_a_reminder_only_for_the_silent(world, sink, worker, client):
    world.a.sender_name, world.a.sender_email = "Acme Care", "care@acme.example"
    world.a.save()
    touchpoint, stage = TouchpointFactory(tenant=world.a, name="Helpdesk call"), StageFactory(journey__tenant=world.a)
    survey = live_survey(world.a, trigger="after_interaction", trigger_delay_minutes=0, touchpoint=touchpoint, stage=stage,
                         reminder_count=1, reminder_interval_days=2)
    segment = SegmentFactory(tenant=world.a)
    ann = ContactFactory(client=ClientFactory(tenant=world.a, segment=segment), name="Ann Answer")
    ben = ContactFactory(client=ClientFactory(tenant=world.a), name="Ben Silent")
    staff = world.membership(world.bob, world.a)

    with tenant_context(world.a):  # commits: on commit, the trigger task goes to the worker
        interaction, _ = interaction_log(tenant=world.a, staff=staff, client=ann.client, contact=ann, touchpoint=touchpoint,
                                         outcome="resolved", summary="Reset the password")
        interaction_log(tenant=world.a, staff=staff, client=ben.client, contact=ben, touchpoint=touchpoint, outcome="resolved",
                        summary="Explained the invoice")

    sink.wait_for(2)
    to_ann = sink.to(ann.email)[0]
    assert to_ann["From"] == "Acme Care <care@acme.example>"
    with tenant_context(world.a):
        invitation = Invitation.objects.get(contact=ann)
    assert to_ann["Message-ID"] == f"<invitation-{invitation.uuid}@cxm.localhost>"
    token = SURVEY_LINK.search(text_of(to_ann)).group(1)
    assert token_hash(token) == invitation.token_hash
    assert f"/s/{token}/?score=10" in html_of(to_ann)
    assert to_ann["List-Unsubscribe"].endswith(f"/s/{token}/opt-out/>")
    wait_until(lambda: _sent(world.a) == 2, "both invitations marked sent")

    # The contact answers over HTTP: GET (never consumes the link), then POST the form back.
    page = client.get(f"/s/{token}/?score=9")
    assert page.status_code == 200
    body = page.content.decode()
    form = hidden_inputs(body) | {"q_nps": "9", "q_reason": "Quick and friendly"}
    answered = client.post(f"/s/{token}/", form)
    assert answered.status_code == 200, answered.content.decode()[:500]
    with tenant_context(world.a):
        response = Response.objects.select_related("invitation").get()
        assert (response.invitation_id, response.client_id, response.contact_id) == (invitation.pk, ann.client_id, ann.pk)
        assert (response.touchpoint_id, response.stage_id, response.staff_id, response.interaction_id) == (
            touchpoint.pk, stage.pk, staff.pk, interaction.pk)
        assert (response.version_id, response.segment_id, response.channel, response.nps) == (
            survey.current_version_id, segment.pk, "email", 9)
        assert Invitation.objects.get(pk=invitation.pk).status == "responded"

        # Three days later, the reminder task runs (beat is not running here: the test sends it).
        Invitation.objects.update(sent_at=timezone.now() - timedelta(days=3))
    send_reminders.delay(world.a.pk)
    sink.wait_for(3)
    time.sleep(2)  # a wrongful reminder to Ann would have arrived by now
    assert len(sink.messages) == 3
    reminder = sink.messages[2]
    assert reminder["To"] == ben.email
    assert reminder["Subject"].startswith("Reminder:")
    with tenant_context(world.a):
        ben_invitation = Invitation.objects.get(contact=ben)
    assert reminder["Message-ID"] == f"<reminder-1-{ben_invitation.uuid}@cxm.localhost>"
    first_to_ben = sink.to(ben.email)[0]
    assert SURVEY_LINK.search(text_of(reminder)).group(1) == SURVEY_LINK.search(text_of(first_to_ben)).group(1), "the same link"
    assert len(sink.to(ann.email)) == 1
    with tenant_context(world.a):
        assert OutboundEmail.objects.filter(status="sent").count() == 3


def _sent(tenant) -> int:
    with tenant_context(tenant):
        return Invitation.objects.filter(status="sent").count()
