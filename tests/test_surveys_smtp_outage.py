"""The SMTP server goes away in the middle of sending 200 invitations and comes back on the same
port: every invitation is delivered, none twice (200 messages, 200 distinct Message-IDs), on real
parts — Postgres as the app role, Redis, a Celery worker process, aiosmtpd on 127.0.0.1.

The worker's backoff is shortened to 1 s (OUTBOX_BACKOFF_SECONDS) so the retries happen within the
test; the logic is the production one."""

import time

import pytest

from apps.messaging.models import OutboundEmail
from apps.messaging.tasks import deliver_outbox
from apps.surveys.models import Invitation
from apps.tenancy.context import tenant_context
from tests.builders import live_survey, send
from tests.factories import ClientFactory, ContactFactory
from tests.live_worker import live_worker

pytestmark = [pytest.mark.postgres, pytest.mark.services]
N = 200


@pytest.fixture
def worker(transactional_db, sink):
    env = {"CXM_WORKER_EMAIL_URL": sink.url, "OUTBOX_BACKOFF_SECONDS": "1", "OUTBOX_MAX_ATTEMPTS": "8"}
    with live_worker(env=env) as queue:
        yield queue


def _waiting_rows(tenant) -> int:
    with tenant_context(tenant):
        return OutboundEmail.objects.filter(status="pending", attempts__gte=1).count()


def test_an_smtp_outage_mid_send_delivers_every_invitation_exactly_once(world, sink, worker):
    survey = live_survey(world.a)
    acme_client = ClientFactory(tenant=world.a)
    contacts = [ContactFactory(client=acme_client) for _ in range(N)]
    sink.shut_down_after(80)  # the server answers the 81st message "421 shutting down" and stops

    result = send(world, survey, contacts)  # commits: the worker writes the outbox, then sends
    assert result.queued == N

    deadline = time.monotonic() + 90
    while sink.running or _waiting_rows(world.a) < 10:
        assert time.monotonic() < deadline, f"the outage was not observed: {len(sink.messages)} received"
        time.sleep(0.2)
    time.sleep(1.5)  # down for a while: retries meet a closed port
    assert len(sink.messages) == 80
    sink.start()  # back, same port

    last_poke = [0.0]

    def poke():  # the beat's safety net, as production has it
        if time.monotonic() - last_poke[0] > 3:
            deliver_outbox.delay(world.a.pk)
            last_poke[0] = time.monotonic()

    sink.wait_for(N, timeout=150, poll=poke)
    time.sleep(3)  # anything sent twice would arrive now
    ids = sink.message_ids()
    assert len(ids) == N
    assert len(set(ids)) == N
    with tenant_context(world.a):
        expected = {f"<invitation-{uuid}@cxm.localhost>" for uuid in Invitation.objects.values_list("uuid", flat=True)}
        assert set(ids) == expected
        assert Invitation.objects.filter(status="sent").count() == N
        assert OutboundEmail.objects.filter(status="sent").count() == N
        # Rows that met the outage were retried (how many depends on how far the worker got before
        # the server came back; at least those the test waited for).
        assert OutboundEmail.objects.filter(attempts__gt=1).count() >= 10
        assert not OutboundEmail.objects.exclude(last_error="").exists()
