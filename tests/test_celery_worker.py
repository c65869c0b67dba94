"""A real Celery worker process on Redis and Postgres (as the app role): tasks for tenant A,
then B, then none, on one worker process, never see the previous tenant's rows; a task queued
with enqueue_on_commit runs only after commit and does its work."""

import socket
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import MembershipInvitation
from apps.accounts.services import member_invite
from apps.accounts.tasks import expire_member_invitations
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.tasks import enqueue_on_commit
from tests.live_worker import live_worker

pytestmark = [pytest.mark.postgres, pytest.mark.services]


@pytest.fixture
def worker(transactional_db):
    with live_worker() as queue:
        yield queue


def test_it_never_lets_a_task_see_the_previous_tenants_rows(world, worker):
    from tests.celery_probe import probe_as_tenant, probe_without_tenant

    a = probe_as_tenant.apply_async(args=[world.a.pk], queue=worker).get(timeout=60)
    b = probe_as_tenant.apply_async(args=[world.b.pk], queue=worker).get(timeout=60)
    none = probe_without_tenant.apply_async(queue=worker).get(timeout=60)
    a_again = probe_as_tenant.apply_async(args=[world.a.pk], queue=worker).get(timeout=60)

    assert a["pid"] == b["pid"] == none["pid"] == a_again["pid"], "all on one worker process"
    # ... and on one Postgres connection (CELERY_DB_REUSE_MAX, as in production): the tenant does not travel with it.
    assert a["backend_pid"] == b["backend_pid"] == none["backend_pid"] == a_again["backend_pid"]
    assert a["orm_tenants"] == [world.a.pk]
    assert a["raw_count"] == 5
    assert a["orm_emails"] == ["alice@example.com", "bob@example.com", "carol@example.com", "dana@example.com", "victor@example.com"]
    assert b["orm_tenants"] == [world.b.pk]
    assert b["raw_count"] == 2
    assert b["orm_emails"] == ["charlie@example.com", "dana@example.com"]
    # No tenant: the ORM refuses, and the database itself shows nothing, even to the escape hatch.
    assert none == {"pid": a["pid"], "backend_pid": a["backend_pid"], "active": "None", "orm": "raised", "raw_count": 0, "all_tenants_raw": 0}
    assert a_again == a


def test_it_runs_an_enqueued_task_only_after_commit(world, worker):
    with tenant_context(world.a):
        invitation, _ = member_invite(tenant=world.a, acting_user=world.alice, email="late@example.com", role=Role.STAFF)
        MembershipInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with transaction.atomic():
        enqueue_on_commit(expire_member_invitations, world.a.pk)
        transaction.set_rollback(True)  # rolled back: nothing may be queued
    time.sleep(2)
    with tenant_context(world.a):
        assert MembershipInvitation.objects.get(pk=invitation.pk).status == "pending"
    with transaction.atomic():
        enqueue_on_commit(expire_member_invitations, world.a.pk)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tenant_context(world.a):
            if MembershipInvitation.objects.get(pk=invitation.pk).status == "expired":
                break
        time.sleep(0.3)
    with tenant_context(world.a):
        assert MembershipInvitation.objects.get(pk=invitation.pk).status == "expired"


def test_it_keeps_the_saved_work_when_the_broker_is_down_at_commit(transactional_db, world, caplog):
    """A broker that cannot be reached when the transaction commits: the rows stay saved, nothing raises to
    the caller (which would answer 500 for a request whose work is already saved), and the log names the
    task that could not be queued."""
    from cxm.celery import app

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_publish_retry")}
    pools = app._pool, app.amqp._producer_pool  # the producer pools are per broker URL: set aside, not closed
    app.conf.update(task_always_eager=False, broker_url=f"redis://127.0.0.1:{closed_port}/0", task_publish_retry=False)
    app._pool = app.amqp._producer_pool = None
    try:
        with tenant_context(world.a), transaction.atomic():
            invitation, _ = member_invite(tenant=world.a, acting_user=world.alice, email="kept@example.com", role=Role.STAFF)
            enqueue_on_commit(expire_member_invitations, world.a.pk)
    finally:
        app.conf.update(saved)
        app._pool, app.amqp._producer_pool = pools
    with tenant_context(world.a):
        assert MembershipInvitation.objects.filter(pk=invitation.pk).exists()
    failures = [r for r in caplog.records if "enqueue_on_commit(" in r.getMessage()]
    assert failures, [r.getMessage() for r in caplog.records]
    assert expire_member_invitations.name in failures[0].getMessage()
    refused = failures[0].exc_info[1] if failures[0].exc_info else None
    assert refused is not None, "the failure is logged with its exception"
    assert "refused" in str(refused).lower() or "connect" in str(refused).lower(), refused
