"""Time a 100,000-row import of past responses (review + apply, then the same file again) against Postgres.

    .venv/bin/python bench/import_history.py [--rows 100000] [--contacts 5000] [--keep-db]

Creates a throwaway database (test_cxm_bench_history) as the owner role, migrates it, then connects as the app
role so row-level security is enforced exactly as in production. A workspace with `--contacts` contacts (one
client each, in five segments), a touchpoint on a journey stage and a published NPS survey (score, reason,
topic); a CSV in the generic layout under the 10 MB limit: a response id, a contact's e-mail, a time over
the last two years, a score, a reason on one row in three, a topic; every 50th row refused (an unknown e-mail).
It times what the tasks run, in order:

1. the review (read, decide every row) of the fresh file;
2. the apply (decide again, write the responses and answers in batches, recompute the rollups of the days
   touched, in one transaction);
3. the review of the same file again (every row already imported: nothing to create).

And prints a table of target, measured and ok, with the peak memory the process reached. DATABASE_URL defaults
to postgres://cxm_owner@127.0.0.1:5432/cxm (scripts/pg_setup.py); nothing else on the server is touched.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_history"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, connections  # noqa: E402

SEGMENTS = ["Enterprise", "Mid-market", "SMB", "Public sector", "Non-profit"]
REASONS = ["Quick and friendly answers", "Too slow to reply", "Price went up again", "The new portal is great", "Invoices were wrong"]
TOPICS = ["price", "service", "speed"]
# What a lead would wait for, for 100,000 rows (the review and the apply run in a worker, with a progress bar).
TARGETS = {"review": 60.0, "apply": 180.0, "again": 60.0, "memory": 1024.0}


def make_csv(rows: int, contacts: int, now: datetime) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["response_id", "email", "submitted_at", "nps", "reason", "topic"])
    for i in range(rows):
        email = f"c{rng.randrange(contacts)}@bench.example" if i % 50 else f"gone{i}@nowhere.example"
        moment = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        writer.writerow([f"R{i}", email, moment.strftime("%Y-%m-%d %H:%M"), rng.randrange(11),
                         REASONS[i % 5] if i % 3 == 0 else "", TOPICS[i % 3]])
    return out.getvalue().encode()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {elapsed:7.2f} s")
    return result, elapsed


def setup_workspace():
    from apps.accounts.models import User
    from apps.clients.models import Client, Contact, Segment
    from apps.journeys.models import Journey, Stage, StageTouchpoint
    from apps.surveys.models import Question, Survey, SurveyVersion
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Membership, Role, Tenant
    from apps.touchpoints.models import Touchpoint

    tenant = Tenant.objects.create(name="Bench", slug="bench", time_zone="Europe/Brussels")
    with tenant_context(tenant):
        user = User.objects.create(email="lead@bench.example", full_name="Lead")
        member = Membership.objects.create(tenant=tenant, user=user, role=Role.CX_LEAD)
        segments = [Segment.objects.create(tenant=tenant, name=name) for name in SEGMENTS]
        return tenant, member, segments, (Client, Contact, Journey, Stage, StageTouchpoint, Touchpoint, Survey, SurveyVersion, Question)


def run(args) -> list[tuple[str, float, float, bool, str]]:
    from django.utils import timezone

    from apps.surveys.history import services
    from apps.surveys.models import Response
    from apps.tenancy import tasks as tenancy_tasks
    from apps.tenancy.context import tenant_context

    tenancy_tasks.enqueue_on_commit = lambda *a, **k: None  # the bench calls the task bodies itself, to time them
    tenant, member, segments, models = setup_workspace()
    Client, Contact, Journey, Stage, StageTouchpoint, Touchpoint, Survey, SurveyVersion, Question = models
    with tenant_context(tenant):
        clients = Client.objects.bulk_create([Client(tenant=tenant, name=f"Client {n}", segment=segments[n % 5],
                                                     active_from=datetime(2020, 1, 1).date()) for n in range(args.contacts)])
        Contact.objects.bulk_create([Contact(tenant=tenant, client=c, name=f"Contact {n}", email=f"c{n}@bench.example")
                                     for n, c in enumerate(clients)])
        journey = Journey.objects.create(tenant=tenant, name="Lifecycle")
        stage = Stage.objects.create(tenant=tenant, journey=journey, name="Support", order=1)
        desk = Touchpoint.objects.create(tenant=tenant, name="Help desk")
        StageTouchpoint.objects.create(tenant=tenant, stage=stage, touchpoint=desk, order=1)
        survey = Survey.objects.create(tenant=tenant, name="Relationship NPS", kind="nps", languages=["en"], touchpoint=desk)
        version = SurveyVersion.objects.create(tenant=tenant, survey=survey, number=1, texts={"en": {"title": "NPS"}})
        Question.objects.create(tenant=tenant, version=version, order=1, key="nps", type="nps", text={"en": "How likely?"})
        Question.objects.create(tenant=tenant, version=version, order=2, key="reason", type="text", required=False, text={"en": "Why?"})
        Question.objects.create(tenant=tenant, version=version, order=3, key="topic", type="single_choice", required=False,
                                text={"en": "Topic?"}, options={"choices": [{"value": t, "label": {"en": t.title()}} for t in TOPICS]})
        version.published_at = timezone.now()
        version.save()
        survey.current_version = version
        survey.save()

    data = make_csv(args.rows, args.contacts, datetime.now(UTC) - timedelta(days=1))
    assert len(data) <= 10 * 1024 * 1024, f"the bench file is {len(data)} bytes, over the 10 MB limit"
    print(f"file: {len(data) / 1024 / 1024:.1f} MB, {args.rows:,} rows, {args.contacts:,} contacts")
    before = peak_mb()

    def one(label: str):
        with tenant_context(tenant):
            job = services.response_import_create(tenant=tenant, acting_member=member, survey=survey,
                                                  uploaded_file=SimpleUploadedFile("history.csv", data, content_type="text/csv"))
        with tenant_context(tenant):
            job, review_s = timed(f"{label}: review", lambda: services.response_import_review(tenant=tenant, job_id=job.pk))
        print(f"    create {job.to_create:,} · already imported {job.unchanged:,} · reject {job.rejected:,}")
        return job, review_s

    job, review_s = one("1. fresh file")
    with tenant_context(tenant):
        services.response_import_confirm(tenant=tenant, acting_user=member.user, acting_member=member, job=job)
    with tenant_context(tenant):
        job, apply_s = timed("2. apply (recheck + write + rollups)", lambda: services.response_import_apply(tenant=tenant, job_id=job.pk))
    assert job.status == "done", job.error_message
    with tenant_context(tenant):
        stored = Response.objects.filter(channel="import").count()
    print(f"    → {stored:,} responses stored, {stored / apply_s:,.0f} per second")
    again, again_s = one("3. same file again")
    assert again.to_create == 0 and again.unchanged == job.to_create, "a re-import must change nothing"
    memory = peak_mb() - before
    scale = args.rows / 100_000
    return [
        (f"review of {args.rows:,} rows (s)", TARGETS["review"] * scale, review_s, review_s <= TARGETS["review"] * scale, "≤"),
        (f"apply of {args.rows:,} rows (s)", TARGETS["apply"] * scale, apply_s, apply_s <= TARGETS["apply"] * scale, "≤"),
        ("re-import review (s)", TARGETS["again"] * scale, again_s, again_s <= TARGETS["again"] * scale, "≤"),
        ("peak memory added (MB)", TARGETS["memory"], memory, memory <= TARGETS["memory"], "≤"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    owner = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        rows = run(args)
    finally:
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner["USER"], owner["PASSWORD"]
        if not args.keep_db:
            connection.creation.destroy_test_db(owner["NAME"], verbosity=0)
    print(f"\n{'measure':<30} {'target':>10} {'measured':>10}  ok")
    for name, target, measured, ok, sign in rows:
        print(f"{name:<30} {sign}{target:>9.1f} {measured:>10.1f}  {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
