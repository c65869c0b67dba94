"""E-mail sending pace (issue 18 P5): the outbox worker against raw smtplib, and a whole manual send.

    .venv/bin/python bench/sending.py                 # 2,000 e-mails each way, a 5,000-contact send
    .venv/bin/python bench/sending.py --emails 500 --contacts 1000

All on loopback, in one run (so the machine's load cancels out in the ratio):

- an aiosmtpd sink on 127.0.0.1 (tests/smtp_sink.py, the one the tests use);
- **raw smtplib**: the same rendered message sent N times over one SMTP connection — the floor;
- **the outbox worker**: N pending outbox rows of one tenant delivered by `apps.messaging.services.outbox_deliver`
  (the body of the `deliver_outbox` task: rows claimed with SKIP LOCKED up to CLAIM_SIZE at a time, sent over one
  connection, marked sent in one UPDATE, their signals sent, a claim per transaction) — as the app role, row-level
  security on, in a throwaway database;
- **a manual send end to end**: a live survey sent to M contacts as the page does it (`manual_send_start`), then
  the worker's steps in order, as one worker runs them: the send's task (invitations, 200 per transaction),
  dispatch (tokens and rendered e-mails into the outbox, 500 per run) and delivery, until every e-mail is in
  the sink.

It prints the ratio table (target, measured, ok) and the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_sending"

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection at INFO
logging.getLogger("celery").setLevel(logging.WARNING)

from django.conf import settings  # noqa: E402
from django.core.mail import EmailMultiAlternatives  # noqa: E402
from django.db import connection, connections  # noqa: E402

from tests.smtp_sink import SmtpSink  # noqa: E402

BODY_TEXT = ("Dear client,\n\nHow likely are you to recommend us to a friend or colleague? Answer in one click:\n"
             + "\n".join(f"{n}: https://cxm.example/s/__token__/?score={n}" for n in range(11)) + "\n\nThank you.\n")
BODY_HTML = "<html><body>\n<p>How likely are you to recommend us?</p>\n" + "".join(
    f'<a href="https://cxm.example/s/__token__/?score={n}">{n}</a>\n' for n in range(11)) + "</body></html>\n"


def raw_smtplib(sink: SmtpSink, n: int) -> float:
    message = EmailMultiAlternatives(subject="How did we do?", body=BODY_TEXT, from_email="care@bench.example",
                                     to=["someone@client.example"])
    message.attach_alternative(BODY_HTML, "text/html")
    data = message.message().as_bytes(linesep="\r\n")  # as Django's SMTP backend sends it
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as server:
        for i in range(n):
            server.sendmail("care@bench.example", [f"c{i}@client.example"], data)
    return time.perf_counter() - start


def wait_for(sink: SmtpSink, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(sink.messages) < count:
        if time.monotonic() > deadline:
            sys.exit(f"the sink holds {len(sink.messages)} of {count} messages after {timeout} s")
        time.sleep(0.01)


def outbox_worker(tenant, sink: SmtpSink, n: int) -> float:
    from apps.messaging.models import OutboundEmail
    from apps.messaging.services import email_enqueue, outbox_deliver
    from apps.tenancy.context import tenant_context

    with tenant_context(tenant):
        for i in range(n):
            email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.CASE, to_email=f"c{i}@client.example", subject="How did we do?",
                          body_text=BODY_TEXT, body_html=BODY_HTML, message_id=f"<bench-{uuid.uuid4()}@bench.example>",
                          deliver=False)
    before = len(sink.messages)
    start = time.perf_counter()
    counts = outbox_deliver(tenant=tenant, limit=n)
    wait_for(sink, before + n)
    seconds = time.perf_counter() - start
    assert counts["sent"] == n, counts
    return seconds


def manual_send(tenant, lead, sink: SmtpSink, contacts: int) -> tuple[float, dict]:
    from apps.messaging.services import outbox_deliver
    from apps.surveys.distribution.manual import manual_send_run, manual_send_start
    from apps.surveys.distribution.services import invitations_dispatch_due
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Membership
    from tests import factories as f
    from tests.builders import live_survey

    with tenant_context(tenant):
        survey = live_survey(tenant, name="Bench NPS")
        segment = f.SegmentFactory(tenant=tenant, name="Everyone")
        for start in range(0, contacts, 100):
            client = f.ClientFactory(tenant=tenant, segment=segment)
            for i in range(start, min(start + 100, contacts)):
                f.ContactFactory(client=client, email=f"contact{i}@client.example", name=f"Contact {i}")
        member = Membership.objects.get(user=lead)
    before = len(sink.messages)
    phases = {}
    start = time.perf_counter()
    with tenant_context(tenant):
        send, _ = manual_send_start(tenant=tenant, acting_user=lead, survey=survey, batch=uuid.uuid4(), segment=segment,
                                    acting_member=member)
    phases["request"] = time.perf_counter() - start
    manual_send_run(tenant=tenant, send_id=send.pk)
    phases["invitations"] = time.perf_counter() - start - phases["request"]
    mark = time.perf_counter()
    while True:
        with tenant_context(tenant):
            if not invitations_dispatch_due(tenant=tenant):
                break
    phases["dispatch"] = time.perf_counter() - mark
    mark = time.perf_counter()
    while outbox_deliver(tenant=tenant)["sent"]:
        pass
    wait_for(sink, before + contacts)
    phases["delivery"] = time.perf_counter() - mark
    return time.perf_counter() - start, phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000, help="e-mails sent each way (raw smtplib, outbox worker)")
    parser.add_argument("--contacts", type=int, default=5000, help="contacts of the end-to-end manual send")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    sink = SmtpSink().start()
    # The bench runs the worker's steps itself, in order: what the code queues on commit goes to an in-memory
    # broker nobody reads (the test settings would otherwise run every task in-process, inside the "request").
    from cxm.celery import app as celery_app

    celery_app.conf.update(task_always_eager=False, broker_url="memory://")
    celery_app._pool = celery_app.amqp._producer_pool = None
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = "127.0.0.1", sink.port, False, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    owner_settings = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        from apps.tenancy.models import Role
        from tests import factories as f

        tenant = f.TenantFactory(name="Bench Sending", slug="bench-sending")
        lead = f.UserFactory(email="lead@bench.example")
        from apps.tenancy.context import tenant_context

        with tenant_context(tenant):
            f.MembershipFactory(tenant=tenant, user=lead, role=Role.CX_LEAD)
        raw_smtplib(sink, 50)  # warm-up: the sink's event loop and the message path
        raw_s = raw_smtplib(sink, args.emails)
        outbox_s = outbox_worker(tenant, sink, args.emails)
        e2e_s, phases = manual_send(tenant, lead, sink, args.contacts)
    finally:
        sink.stop()
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner_settings["USER"], owner_settings["PASSWORD"]
        if not args.keep_db:
            connection.creation.destroy_test_db(owner_settings["NAME"], verbosity=0)
    raw_rate, outbox_rate, e2e_rate = args.emails / raw_s, args.emails / outbox_s, args.contacts / e2e_s
    print(f"\n== E-mail sending, {args.emails:,} e-mails each way to an aiosmtpd sink on loopback; a {args.contacts:,}-contact send")
    print(f"{'figure':<62} {'target':>8} {'measured':>9}  ok")
    ratio = outbox_rate / raw_rate
    print(f"{'outbox worker msgs/s ÷ raw smtplib msgs/s':<62} {'≥ 0.5':>8} {ratio:>9.2f}  {'yes' if ratio >= 0.5 else 'NO'}")
    print(f"{'manual send end to end, msgs/s (one worker, in order)':<62} {'—':>8} {e2e_rate:>9.1f}")
    print("\n== Absolute")
    print(f"  raw smtplib      {raw_rate:8.0f} msgs/s ({raw_s:.2f} s)")
    print(f"  outbox worker    {outbox_rate:8.0f} msgs/s ({outbox_s:.2f} s)")
    print(f"  manual send      {e2e_rate:8.1f} msgs/s ({e2e_s:.1f} s): " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
