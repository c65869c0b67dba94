"""The due-work register (apps/tenancy/due.py): a beat tick wakes only the tenants with work due, found by one
indexed query, and no work is ever left asleep — a note is written only once its rows are committed, a tick
leases what it claims, and a task's settle never erases a note that arrived while it ran."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.messaging import services as outbox
from apps.messaging.tasks import fan_out_deliver_outbox
from apps.surveys.distribution import services as dist
from apps.surveys.models import DISPATCH_DUE, INVITATIONS_CHANGED
from apps.surveys.tasks import fan_out_dispatch_invitations
from apps.tenancy.context import tenant_context
from apps.tenancy.due import DUE_LEASE, due_claim, due_note, due_note_every_tenant, due_settle, due_version
from apps.tenancy.models import TenantDue
from tests.builders import live_survey
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
KIND = "test-kind"


def due_at(tenant, kind=KIND):
    return TenantDue.objects.filter(tenant=tenant, kind=kind).values_list("due_at", flat=True).first()


def committed(capture, *notes):
    """Each (tenant, time) noted in one transaction, which then commits (its hooks run)."""
    with capture(execute=True):
        for tenant, at in notes:
            due_note(tenant.pk, KIND, at)


def test_a_transactions_notes_are_written_after_it_commits_in_one_statement(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks() as hooks:
        due_note(world.a.pk, KIND, now + timedelta(hours=1))
        due_note(world.a.pk, KIND, now + timedelta(minutes=1))  # the earlier one wins
        due_note(world.b.pk, KIND, now + timedelta(hours=2))
    assert due_at(world.a) is None  # not before the commit: its rows would not be visible to the task yet
    assert len(hooks) == 1
    with CaptureQueriesContext(connection) as queries:
        hooks[0]()
    assert len(queries) == 1
    assert due_at(world.a) == now + timedelta(minutes=1)
    assert due_at(world.b) == now + timedelta(hours=2)


def test_a_rolled_back_note_is_never_written(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                due_note(world.a.pk, KIND, now)
                raise RuntimeError("the writer's transaction fails")
        except RuntimeError:
            pass
        due_note(world.b.pk, KIND, now)  # a later note of the same transaction still gets written
    assert due_at(world.a) is None
    assert due_at(world.b) == now


def test_a_later_note_never_postpones_an_earlier_one(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    committed(django_capture_on_commit_callbacks, (world.a, now))
    committed(django_capture_on_commit_callbacks, (world.a, now + timedelta(days=1)))
    assert due_at(world.a) == now
    assert TenantDue.objects.get(tenant=world.a, kind=KIND).version == 2


def test_a_tick_claims_only_the_due_tenants_and_leases_them(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    committed(django_capture_on_commit_callbacks, (world.a, now - timedelta(seconds=1)), (world.b, now + timedelta(hours=1)))
    assert due_claim(KIND, now=now) == [world.a.pk]
    assert due_at(world.a) == now + DUE_LEASE  # woken again then if its task never settles
    assert due_claim(KIND, now=now) == []  # an idle tick: nothing
    assert due_claim(KIND, now=now + timedelta(hours=2)) == [world.a.pk, world.b.pk]


def test_a_settle_never_erases_a_note_that_arrived_while_the_task_ran(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    committed(django_capture_on_commit_callbacks, (world.a, now))
    assert due_claim(KIND, now=now) == [world.a.pk]
    version = due_version(world.a.pk, KIND)  # the task reads it, then looks at its rows …
    committed(django_capture_on_commit_callbacks, (world.a, now + timedelta(seconds=30)))  # … a writer commits meanwhile
    assert due_settle(world.a.pk, KIND, version, None) is False
    assert due_at(world.a) == now + timedelta(seconds=30)  # that writer's work is still woken
    assert due_settle(world.a.pk, KIND, due_version(world.a.pk, KIND), None) is True
    assert due_at(world.a) is None
    assert due_claim(KIND, now=now + timedelta(days=30)) == []


def test_the_daily_backstop_marks_every_active_tenant_due(world, django_capture_on_commit_callbacks):
    now = timezone.now()
    assert due_note_every_tenant([KIND], at=now) >= 2
    assert {world.a.pk, world.b.pk} <= set(due_claim(KIND, now=now))


def test_the_outbox_tick_wakes_only_the_tenant_with_mail_due(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        outbox.email_enqueue(tenant=world.a, kind="test", to_email="ann@client.example", subject="Hello", body_text="Hi",
                             message_id="<due-work-1@cxm.localhost>", deliver=False)  # no task queued: only the beat wakes it
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_out_deliver_outbox() == 1  # world.b has nothing: not woken
    assert [m.to for m in mail.outbox] == [["ann@client.example"]]
    assert due_at(world.a, outbox.DUE_KIND) is None  # settled: nothing pending
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_out_deliver_outbox() == 0


def test_a_queued_invitation_wakes_the_dispatcher_when_it_may_be_sent(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a)
    contact = ContactFactory(client__tenant=world.a)
    later = timezone.now() + timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        dist.invitation_create(tenant=world.a, survey=survey, contact=contact, source="manual", dedupe_key="due-work",
                                            send_after=later)
    assert due_at(world.a, DISPATCH_DUE) == later
    assert due_at(world.a, INVITATIONS_CHANGED) is not None  # the funnel's catch-up looks at the new invitation
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_out_dispatch_invitations() == 0  # not yet
    assert due_claim(DISPATCH_DUE, now=later) == [world.a.pk]
    with tenant_context(world.a):
        assert dist.invitations_dispatch_due(tenant=world.a, now=later) == 1
    assert due_at(world.a, DISPATCH_DUE) is None
