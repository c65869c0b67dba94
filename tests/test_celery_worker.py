"""A real Celery worker process on Redis and Postgres (as the app role): tasks for tenant A,
then B, then none, on one worker process, never see the previous tenant's rows; a task queued
with enqueue_on_commit runs only after commit and does its work."""

import contextlib
import json
import socket
import subprocess
import time
import types
from datetime import timedelta

import pytest
import redis
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


@contextlib.contextmanager
def private_broker(directory):
    """A Redis of this test's own on a free loopback port (never the machine's), with `stop()` and `start()`
    on the same port, and Celery's app pointed at it (not eager) for the duration."""
    from cxm.celery import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procs = []

    def start():
        procs.append(subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                       "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def stop():
        procs[-1].terminate()
        procs[-1].wait(timeout=10)

    start()
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")}
    pools = app._pool, app.amqp._producer_pool  # the producer pools are per broker URL: set aside, not closed
    app.conf.update(task_always_eager=False, broker_url=f"redis://127.0.0.1:{port}/0", task_default_queue="celery")
    app._pool = app.amqp._producer_pool = None
    try:
        yield types.SimpleNamespace(port=port, start=start, stop=stop, client=redis.Redis(port=port))
    finally:
        app.conf.update(saved)
        app._pool, app.amqp._producer_pool = pools
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _queued_task_names(broker) -> list[str]:
    return sorted(json.loads(raw)["headers"]["task"] for raw in broker.client.lrange("celery", 0, -1))


def test_a_request_saved_while_the_broker_is_down_answers_and_its_tasks_are_sent_later(transactional_db, world, tmp_path, caplog):
    """Redis (the broker) stops; a member of staff logs an interaction over HTTP: it answers 201 and the row
    is saved; the tasks its commit queues (scoring the text, after-interaction surveys) are kept as
    DeferredTask rows, not lost. Redis comes back; the every-minute sweep sends them to the broker, once."""
    from rest_framework.test import APIClient

    from apps.tenancy.models import DeferredTask
    from apps.tenancy.tasks import requeue_deferred_tasks
    from apps.touchpoints.models import Interaction
    from tests import factories as f

    with tenant_context(world.a):
        desk = f.TouchpointFactory(tenant=world.a, name="Helpdesk call", channel="phone")
        cedar = f.ClientFactory(tenant=world.a, name="Cedar Dental")
    api = APIClient()
    api.force_login(world.bob)
    with private_broker(tmp_path) as broker:
        broker.stop()
        answer = api.post("/api/v1/t/acme/interactions/", {"client": str(cedar.uuid), "touchpoint": str(desk.uuid),
                                                           "outcome": "unresolved", "summary": "Invoice still wrong"}, format="json")
        assert answer.status_code == 201, answer.content
        with tenant_context(world.a):
            assert Interaction.objects.filter(uuid=answer.json()["id"]).exists()
        deferred = list(DeferredTask.objects.values_list("name", flat=True))
        assert "apps.touchpoints.tasks.score_interaction_sentiment" in deferred, deferred
        assert all(e.startswith("OperationalError") for e in DeferredTask.objects.values_list("error", flat=True))
        assert requeue_deferred_tasks() == 0  # still down: nothing sent, nothing lost
        assert DeferredTask.objects.count() == len(deferred)

        broker.start()
        assert requeue_deferred_tasks() == len(deferred)
        assert DeferredTask.objects.count() == 0
        assert _queued_task_names(broker) == sorted(deferred)
        assert requeue_deferred_tasks() == 0  # sent once
        assert _queued_task_names(broker) == sorted(deferred)
    assert any("broker unavailable" in r.getMessage() for r in caplog.records)


def test_a_submitted_comment_is_analysed_by_the_worker_after_commit(world, worker):
    """Issue 19 item 3: the language and sentiment of a new comment are computed in Celery, on commit."""
    from apps.core.nlp import ANALYSER_VERSION
    from apps.surveys.models import Response
    from apps.surveys.respond.services import response_submit
    from tests.builders import live_survey

    survey = live_survey(world.a)
    with tenant_context(world.a):
        response, _ = response_submit(tenant=world.a, version=survey.current_version, channel="web", language="en",
                                      answers={"nps": 9, "reason": "Der Berater war sehr freundlich und hilfreich, danke!"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tenant_context(world.a):
            stored = Response.objects.get(pk=response.pk)
        if stored.comment_analyser == ANALYSER_VERSION:
            break
        time.sleep(0.3)
    assert stored.comment_analyser == ANALYSER_VERSION
    assert stored.comment_language == "de"
    assert stored.comment_sentiment > 0.3
