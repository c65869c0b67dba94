"""Time a 100,000-row client/contact import (dry run + apply) against Postgres.

    .venv/bin/python bench/import_clients.py [--rows 100000] [--clients 20000] [--keep-db]

Creates a throwaway database (test_cxm_bench_import) as the owner role, migrates it, then connects as
the app role so row-level security is enforced exactly as in production. It generates a CSV (under
10 MB: client columns are filled on each client's first row only, as many CRM exports do) and times:

1. the dry run of a fresh file (every row a create) and its apply;
2. the same file again (every row unchanged, zero writes);
3. a file where every 10th contact changed its phone (updates).

DATABASE_URL defaults to postgres://cxm_owner@127.0.0.1:5432/cxm (the machine's dev server; see
scripts/pg_setup.py). Timings go to stdout; nothing else on the server is touched.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_import"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, connections  # noqa: E402

SEGMENTS = ["Enterprise", "Mid-market", "SMB", "Public sector", "Non-profit"]
TIERS = ["strategic", "key", "standard", "standard", "standard"]
HEADER = ["email", "contact_name", "phone", "locale", "role", "opted_out", "client_name", "segment", "tier", "status",
          "industry", "annual_value", "active_from", "churned_on", "owner_email"]


def make_csv(rows: int, clients: int, owners: list[str], phone_variant: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    per_client = max(rows // clients, 1)
    for i in range(rows):
        c = i // per_client
        phone = f"+3225{i:07d}" if phone_variant == 0 or i % 10 else f"+3226{i:07d}"
        contact = [f"c{i}@cl{c}.example", f"Contact {i}", phone, "nl" if i % 3 else "fr", "CFO" if i % 5 == 0 else "", "no"]
        if i % per_client == 0:
            client = [f"Client {c}", SEGMENTS[c % 5], TIERS[c % 5], "active", "Retail", f"{(c % 97) * 1000}.00", "2023-01-01", "",
                      owners[c % len(owners)]]
        else:
            client = [f"Client {c}", "", "", "", "", "", "", "", ""]
        writer.writerow(contact + client)
    return out.getvalue().encode()


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<28} {elapsed:7.2f} s")
    return result, elapsed


def run(args) -> None:
    from apps.accounts.models import User
    from apps.clients.models import Client, Contact
    from apps.imports import services
    from apps.tenancy import tasks as tenancy_tasks
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Membership, Role, Tenant

    tenancy_tasks.enqueue_on_commit = lambda *a, **k: None  # the bench calls the task bodies itself, to time them

    tenant = Tenant.objects.create(name="Bench", slug="bench")
    owners = []
    with tenant_context(tenant):
        for n in range(5):
            user = User.objects.create(email=f"owner{n}@bench.example", full_name=f"Owner {n}")
            Membership.objects.create(tenant=tenant, user=user, role=Role.ADMIN if n == 0 else Role.STAFF)
            owners.append(user.email)
        admin = Membership.objects.select_related("user").get(user__email=owners[0])

    def one_import(label: str, data: bytes) -> dict:
        print(f"{label}: {len(data) / 1024 / 1024:.1f} MB, {args.rows:,} rows")
        with tenant_context(tenant):
            job, _ = timed("upload checks + store", lambda: services.import_job_create(
                tenant=tenant, acting_user=admin.user, acting_member=admin,
                uploaded_file=SimpleUploadedFile("bench.csv", data, content_type="text/csv")))
        with tenant_context(tenant):  # what the review task runs
            job, review_s = timed("dry run (review)", lambda: services.import_job_review(tenant=tenant, job_id=job.pk))
        print(f"    create {job.to_create:,} · update {job.to_update:,} · unchanged {job.unchanged:,} · reject {job.rejected:,}")
        with tenant_context(tenant):
            services.import_job_confirm(tenant=tenant, acting_user=admin.user, acting_member=admin, job=job)
        with tenant_context(tenant):  # what the apply task runs: recheck + write, one transaction
            job, apply_s = timed("apply (recheck + write)", lambda: services.import_job_apply(tenant=tenant, job_id=job.pk))
        assert job.status == "done", job.error_message
        print(f"  {'total':<28} {review_s + apply_s:7.2f} s")
        return {"review": review_s, "apply": apply_s}

    fresh = make_csv(args.rows, args.clients, owners)
    assert len(fresh) <= 10 * 1024 * 1024, f"the bench file is {len(fresh)} bytes, over the 10 MB limit"
    results = {"fresh": one_import("1. fresh file (all creates)", fresh)}
    with tenant_context(tenant):
        print(f"    → {Client.objects.count():,} clients, {Contact.objects.count():,} contacts")
    results["same"] = one_import("2. the same file again (all unchanged)", fresh)
    results["updates"] = one_import("3. every 10th phone changed (updates)", make_csv(args.rows, args.clients, owners, phone_variant=1))
    print("summary: " + ", ".join(f"{k} {v['review'] + v['apply']:.1f} s" for k, v in results.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    owner = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{settings.DATABASE_APP_ROLE}"')
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        run(args)
    finally:
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner["USER"], owner["PASSWORD"]
        if not args.keep_db:
            connection.creation.destroy_test_db(owner["NAME"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
