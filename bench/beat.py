"""The beat at 10,000 tenants (issue 18, "jobs at 10,000 tenants"): tasks queued per tick and the due-work queries.

    .venv/bin/python bench/beat.py                   # 10,000 tenants, 1% of them with work due
    .venv/bin/python bench/beat.py --tenants 2000 --due 50

Creates a throwaway Postgres database (`test_cxm_bench_beat`, dropped afterwards unless --keep-db), migrates it as
the owner role and works as the app role (row-level security on), then:

- creates the tenants, and a due-work register as it looks on a deployment that has run for a while: every tenant
  has a row for every kind of polled work (outbox, dispatch, webhooks, invitations, escalation), settled (nothing
  due, or due days from now);
- runs every entry of the beat schedule once, as the worker runs the entry's task (the fan-out), with sending
  replaced by a counter, and reports the tasks it queued: **idle** (nothing due anywhere), then with `--due` tenants
  given real due work through the product's own write paths (an e-mail in the outbox, an invitation queued, a case
  overdue);
- times the due-work query (the claim: one `UPDATE … RETURNING` on the (kind, due_at) index) as a round trip and as
  Postgres's own execution time (EXPLAIN ANALYZE, rolled back), and the writer's note after a commit.

It prints the ratio table (target, measured, ok) and the whole schedule.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_beat"

import django  # noqa: E402

django.setup()

from celery.app.task import Task  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

KINDS = ("outbox", "dispatch", "webhooks", "invitations", "escalation", "invitation-expiry", "reminders", "member-invitations",
         "idempotency")
POLLING = {"requeue-deferred-tasks", "dispatch-survey-invitations", "deliver-survey-outbox", "deliver-due-webhooks",
           "refresh-recent-funnel", "escalate-overdue-cases",  # every minute or every five
           "expire-member-invitations", "purge-idempotency-records", "send-survey-reminders", "expire-survey-invitations"}
BACKSTOP = "mark-every-tenant-due"


class Queued:
    """Stands in for the broker: counts what would be sent, by task name."""

    def __init__(self):
        self.counts: Counter = Counter()
        self._original = Task.apply_async

    def __enter__(self):
        counts = self.counts

        def apply_async(task, args=None, kwargs=None, **options):
            counts[task.name] += 1

        Task.apply_async = apply_async
        return self

    def __exit__(self, *exc):
        Task.apply_async = self._original

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def make_tenants(n: int) -> list[int]:
    from apps.tenancy.models import Tenant

    Tenant.objects.bulk_create([Tenant(name=f"Bench tenant {i}", slug=f"bench-{i}", time_zone=("UTC", "Europe/Brussels",
                                       "America/New_York", "Asia/Tokyo")[i % 4]) for i in range(n)], batch_size=2000)
    return list(Tenant.objects.order_by("pk").values_list("pk", flat=True))


def settled_register(kinds=KINDS) -> None:
    """Every tenant has had work of every kind; all of it settled (nothing due, or due in some days)."""
    from apps.tenancy.due import due_note_every_tenant
    from apps.tenancy.models import TenantDue

    due_note_every_tenant(kinds)
    later = timezone.now() + timedelta(days=3)
    timed = ("dispatch", "escalation", "invitation-expiry", "reminders", "member-invitations", "idempotency")
    TenantDue.objects.filter(kind__in=timed).update(due_at=later)
    TenantDue.objects.exclude(kind__in=timed).update(due_at=None)


def run_schedule() -> dict[str, tuple[int, float]]:
    """Each beat entry's task run once, as the worker would; {entry: (tasks queued, seconds)}."""
    from celery import current_app

    results = {}
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if name == BACKSTOP:
            continue  # daily; reported on its own (it would make every tenant due for the ticks that follow)
        task = current_app.tasks[entry["task"]]
        with Queued() as queued:
            start = time.perf_counter()
            task.run()
            seconds = time.perf_counter() - start
        results[name] = (queued.total, seconds)
    return results


def give_work(tenant_ids: list[int]) -> None:
    """Real due work through the product's write paths: one e-mail in the outbox, one invitation queued for now and
    one case already overdue, in each of these tenants."""
    from apps.feedback.models import Case
    from apps.messaging.services import email_enqueue
    from apps.surveys.distribution.services import invitation_create
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Tenant
    from tests import factories as f
    from tests.builders import live_survey

    now = timezone.now()
    for tenant in Tenant.objects.filter(pk__in=tenant_ids):
        with tenant_context(tenant):
            email_enqueue(tenant=tenant, kind="case", to_email="lead@bench.example", subject="Bench", body_text="Bench",
                          message_id=f"<bench-beat-{tenant.pk}@bench.example>", deliver=False)
            contact = f.ContactFactory(client__tenant=tenant)
            invitation_create(tenant=tenant, survey=live_survey(tenant, name="Bench NPS"), contact=contact, source="manual",
                              dedupe_key="bench-beat", dispatch=False)
            f.CaseFactory(tenant=tenant, client=contact.client, status=Case.Status.OPEN, due_at=now - timedelta(minutes=1),
                          opened_at=now - timedelta(hours=2))


def claim_times(calls: int = 50) -> tuple[float, float]:
    """The claim for one kind with nothing due: median round trip (ms) and Postgres's execution time (ms)."""
    from apps.tenancy.due import due_claim

    trips = []
    for _ in range(calls):
        start = time.perf_counter()
        with transaction.atomic():
            due_claim("outbox")
        trips.append((time.perf_counter() - start) * 1000)
    with transaction.atomic(), connection.cursor() as cursor:
        now = timezone.now()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) UPDATE tenancy_tenantdue SET due_at = %s WHERE kind = %s AND due_at <= %s "
                       "RETURNING tenant_id", [now + timedelta(minutes=10), "outbox", now])
        plan = cursor.fetchone()[0][0]
        transaction.set_rollback(True)
    return statistics.median(trips), plan["Execution Time"] + plan.get("Planning Time", 0)


def note_time(tenant_id: int, calls: int = 200) -> float:
    """A writer's note once its transaction has committed: median ms (one statement)."""
    from apps.tenancy.due import due_note

    times = []
    for _ in range(calls):
        start = time.perf_counter()
        due_note(tenant_id, "outbox")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def uses_index() -> bool:
    with connection.cursor() as cursor:
        now = timezone.now()
        cursor.execute("EXPLAIN UPDATE tenancy_tenantdue SET due_at = %s WHERE kind = %s AND due_at <= %s RETURNING tenant_id",
                       [now, "outbox", now])
        return "tenancy_due_kind_at" in "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100, help="tenants given due work for the second run")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    from cxm.celery import app as celery_app

    celery_app.conf.update(task_always_eager=False)
    celery_app.loader.import_default_modules()  # the tasks modules, as a worker loads them
    owner_settings = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        start = time.perf_counter()
        ids = make_tenants(args.tenants)
        settled_register()
        setup_s = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tenancy_tenantdue")
        idle = run_schedule()
        claim_ms, claim_pg_ms = claim_times()
        indexed = uses_index()
        due_ids = ids[:: max(1, len(ids) // args.due)][: args.due]
        give_work(due_ids)
        busy = run_schedule()
        after = run_schedule()  # the due tenants' tasks were queued (not run here): their leases hold, nothing again
        note_ms = note_time(ids[0])
    finally:
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner_settings["USER"], owner_settings["PASSWORD"]
        if not args.keep_db:
            connection.creation.destroy_test_db(owner_settings["NAME"], verbosity=0)

    polling_idle = sum(idle[name][0] for name in POLLING)
    polling_busy = {name: busy[name][0] for name in POLLING}
    expected = {"dispatch-survey-invitations": len(due_ids), "deliver-survey-outbox": len(due_ids),
                "refresh-recent-funnel": len(due_ids), "escalate-overdue-cases": len(due_ids)}
    exact = all(polling_busy[name] == count for name, count in expected.items())
    print(f"\n== The beat at {len(ids):,} tenants ({len(KINDS)} kinds of polled work each, all settled), "
          f"then {len(due_ids)} tenants with work due (set up in {setup_s:.1f} s)")
    print(f"{'figure':<70} {'target':>9} {'measured':>15}  ok")
    rows = [
        (f"tasks queued by an idle tick of the {len(POLLING)} polling jobs (all together)", "0", polling_idle, polling_idle == 0),
        (f"tasks queued by those ticks with {len(due_ids)} tenants due (per job)", f"= {len(due_ids)}",
         "/".join(str(polling_busy[n]) for n in expected), exact),
        ("tasks queued again by the next ticks (claimed, leased)", "0", sum(after[n][0] for n in POLLING),
         sum(after[n][0] for n in POLLING) == 0),
        ("due-work query: round trip, ms (median of 50)", "≤ 5", f"{claim_ms:.2f}", claim_ms <= 5),
        ("due-work query: Postgres planning + execution, ms", "≤ 1", f"{claim_pg_ms:.3f}", claim_pg_ms <= 1),
        ("due-work query uses the (kind, due_at) index", "yes", "yes" if indexed else "no", indexed),
        ("a writer's note after commit, ms (median)", "≤ 2", f"{note_ms:.2f}", note_ms <= 2),
    ]
    for label, target, measured, ok in rows:
        print(f"{label:<70} {target:>9} {measured!s:>15}  {'yes' if ok else 'NO'}")
    print(f"\n== Every beat entry: tasks queued (and seconds) per tick, idle → with {len(due_ids)} tenants due")
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if name == BACKSTOP:
            print(f"  {name:<38} daily     queues nothing; marks every tenant due once: the next ticks queue "
                  f"{len(ids):,} per polled kind, once a day")
            continue
        kind = "polling" if name in POLLING else "periodic"
        print(f"  {name:<38} {kind:<9} idle {idle[name][0]:>6} ({idle[name][1]:6.3f} s)   due {busy[name][0]:>6} "
              f"({busy[name][1]:6.3f} s)   {entry['schedule']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
