"""A real Celery worker process on Redis and Postgres (as the app role): tasks for tenant A,
then B, then none, on one worker process, never see the previous tenant's rows; a task queued
with enqueue_on_commit runs only after commit and does its work."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import MembershipInvitation
from apps.accounts.services import member_invite
from apps.accounts.tasks import expire_member_invitations
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.tasks import enqueue_on_commit
from cxm.celery import app as celery_app

pytestmark = [pytest.mark.postgres, pytest.mark.services]
ROOT = Path(__file__).resolve().parent.parent


def _redis_or_skip():
    try:
        redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CXM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required (CXM_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"no Redis at {settings.TEST_REDIS_URL}")


@pytest.fixture
def worker(transactional_db):
    _redis_or_skip()
    queue = f"cxm-test-{os.getpid()}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        # The worker connects exactly as production workers do: the app role, RLS enforced.
        "DATABASE_URL": f"postgres://{db['USER']}:{quote(db['PASSWORD'] or '')}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.celery_probe", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1, destination=None) or proc.poll() is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                pytest.fail(f"Celery worker did not start:\n{out}")
        yield queue
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = "celery"
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_it_never_lets_a_task_see_the_previous_tenants_rows(world, worker):
    from tests.celery_probe import probe_as_tenant, probe_without_tenant

    a = probe_as_tenant.apply_async(args=[world.a.pk], queue=worker).get(timeout=60)
    b = probe_as_tenant.apply_async(args=[world.b.pk], queue=worker).get(timeout=60)
    none = probe_without_tenant.apply_async(queue=worker).get(timeout=60)
    a_again = probe_as_tenant.apply_async(args=[world.a.pk], queue=worker).get(timeout=60)

    assert a["pid"] == b["pid"] == none["pid"] == a_again["pid"], "all on one worker process"
    assert a["orm_tenants"] == [world.a.pk] and a["raw_count"] == 5
    assert a["orm_emails"] == ["alice@example.com", "bob@example.com", "carol@example.com", "dana@example.com", "victor@example.com"]
    assert b["orm_tenants"] == [world.b.pk] and b["raw_count"] == 2
    assert b["orm_emails"] == ["charlie@example.com", "dana@example.com"]
    # No tenant: the ORM refuses, and the database itself shows nothing, even to the escape hatch.
    assert none == {"pid": a["pid"], "active": "None", "orm": "raised", "raw_count": 0, "all_tenants_raw": 0}
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
