"""Digests end to end on real parts: Postgres (the app role, RLS on), Redis, a Celery worker process and
an SMTP server (aiosmtpd on 127.0.0.1).

The hourly beat task runs at 07:30 Brussels time (Acme) → the worker queues Acme's digests, sends each
subscribed member's as its own task → the outbox delivers it over SMTP → one e-mail per member arrives,
with the overdue case's link. The beat running again (the 08:00 catch-up, a doubled beat) sends nothing
more; a member who opted out gets nothing; Globex, at 01:30 in New York, is not due."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
from django.utils import timezone

from apps.core.dates import local_today, zone
from apps.digests import tasks
from apps.digests.models import DigestSend
from apps.digests.services import digest_preferences_update
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.live_parts import wait_until
from tests.smtp_sink import text_of

pytestmark = [pytest.mark.postgres, pytest.mark.services]


def sends(tenant) -> int:
    with tenant_context(tenant):
        return DigestSend.objects.count()


def test_the_beat_sends_each_subscribed_members_digest_once_over_smtp(world, sink, worker):
    a = world.a
    bob, carol, alice = (world.membership(u, a) for u in (world.bob, world.carol, world.alice))
    charlie = world.membership(world.charlie, world.b)
    now = timezone.now()
    with tenant_context(a):
        late = f.CaseFactory(tenant=a, title="Call back Cedar about the invoice", assignee=bob,
                             opened_at=now - timedelta(days=4), due_at=now - timedelta(days=2))
        for member in (bob, carol, alice):
            digest_preferences_update(tenant=a, membership=member, daily=True, weekly=False)
        digest_preferences_update(tenant=a, membership=alice, daily=False, weekly=False)  # alice opted out again
    with tenant_context(world.b):
        digest_preferences_update(tenant=world.b, membership=charlie, daily=True, weekly=False)
        f.CaseFactory(tenant=world.b, title="Globex late case", opened_at=now - timedelta(days=4), due_at=now - timedelta(days=2))
    today = local_today(a.time_zone)
    seven_thirty = datetime.combine(today, clock(7, 30), tzinfo=zone(a.time_zone))  # Acme's send window, not Globex's
    assert tasks.tenants_due(seven_thirty) == [a.pk]

    assert tasks.fan_out_send_digests.delay(seven_thirty.isoformat()).get(timeout=60) == 1
    messages = sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["bob@example.com", "carol@example.com"]
    bob_mail = sink.to("bob@example.com")[0]
    assert f"/t/acme/cases/{late.uuid}/" in text_of(bob_mail)
    assert "Globex" not in text_of(bob_mail)
    assert "Globex" not in text_of(sink.to("carol@example.com")[0])
    wait_until(lambda: sends(a) == 2, "both DigestSend rows")

    eight_thirty = (seven_thirty + timedelta(hours=1)).isoformat()
    for _ in range(2):  # the catch-up hour, and a doubled beat
        assert tasks.fan_out_send_digests.delay(eight_thirty).get(timeout=60) == 1
    assert tasks.send_digests.delay(a.pk, eight_thirty).get(timeout=60) == 0  # nobody left to send to
    time.sleep(3)  # anything sent twice would arrive now
    assert len(sink.messages) == 2
    assert sends(a) == 2
    assert sends(world.b) == 0


def test_concurrent_runs_for_one_member_send_once(transactional_db, world):
    """Eight runs of the same member's digest at once (a doubled beat on several workers): the member's
    row lock serialises them, the first writes the e-mail, the others find its DigestSend row."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from apps.digests.services import digest_send
    from apps.messaging.models import OutboundEmail

    a = world.a
    bob = world.membership(world.bob, a)
    now = timezone.now()
    with tenant_context(a):
        digest_preferences_update(tenant=a, membership=bob, daily=True, weekly=False)
        f.CaseFactory(tenant=a, title="Late", assignee=bob, opened_at=now - timedelta(days=4), due_at=now - timedelta(days=2))
    period_last = local_today(a.time_zone) - timedelta(days=1)
    start = threading.Barrier(8)

    def run(_):
        try:
            start.wait(timeout=30)
            with tenant_context(a):
                return digest_send(tenant=a, membership=bob, frequency="daily", period_last=period_last).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(run, range(8)))
    assert len(ids) == 1
    with tenant_context(a):
        assert DigestSend.objects.count() == 1
        assert OutboundEmail.objects.filter(kind="digest").count() == 1
