"""Benchmark of the CX lead overview (issue 7 "Benchmark"): server time of `dashboards:overview` with its
default filters at 100,000 and at 1,000,000 responses across 100 tenants, and the ratio (target ≤ 1.3).

    .venv/bin/python bench/dashboards.py                       # 100,000 and 1,000,000 responses (~6 min on 2 cores)
    .venv/bin/python bench/dashboards.py --quick               # 10,000 and 100,000: a smoke run (~1.5 min)
    .venv/bin/python bench/dashboards.py --sizes 50000,500000  # any sizes; the first is the baseline

The world and the load are bench/metrics.py's, imported, not copied: the same throwaway database (created
as the owner role under its own name, test_cxm_bench_dashboards, then used as the app role with row-level
security forced), the same 100 tenants of skewed sizes with surveys, touchpoints, journeys, segments, staff
and clients, and for each size N the same `COPY` of N responses spread over two years ending today, then
VACUUM ANALYZE and `rollups_rebuild` of every tenant as the app role. On top of that load this script
gives a share of the scored responses a comment (the overview lists the latest ones; the metrics loader
writes none) and rebuilds each tenant's funnel.

Then, per size, one CX lead per timed tenant (eight tenants across the size range, the biggest first)
requests the overview through Django's test Client — in process, the whole middleware stack (session,
CSP, tenant resolution and its transaction, role check), the page builder and the template, no network
— a few warm-up requests per tenant, then `--requests` timed ones round-robin across the tenants. It
prints the wall-time p50/p95 (all tenants, and the biggest alone), per request the time spent in SQL and
the process CPU time (steadier than wall time when other jobs share the cores), the queries one request
runs, the load average meanwhile, and the ratios of the large size to the baseline. Nothing outside
the bench database is touched; it is dropped at the end unless --keep-db.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/metrics.py configures Django (test settings, owner DATABASE_URL) on import; its world and loader are ours.
from bench import metrics as bench_metrics  # noqa: E402

# isort: split
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

DATABASE_NAME = "test_cxm_bench_dashboards"  # not bench/metrics.py's: both may run at once
TIMED_TENANTS = (0, 1, 3, 7, 15, 31, 63, 99)  # ranks by size: the biggest (~9.5% of all responses) down to the smallest
WARMUP = 3
COMMENTS = ("Quick and friendly, thank you.", "Waited too long on the phone.", "The invoice was wrong again.",
            "Great advice, very clear.", "Nobody called me back.", "Smooth onboarding, well explained.")
TARGET = 1.3


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0–100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def make_leads(worlds) -> list[tuple[object, Client]]:
    """A CX lead in each timed tenant, signed in on their own test Client."""
    from apps.accounts.models import User
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Membership, Role

    out = []
    for rank in TIMED_TENANTS:
        tenant = worlds[rank].tenant
        user = User.objects.create(email=f"lead@{tenant.slug}.example", full_name=f"Lead of {tenant.name}")
        with tenant_context(tenant):
            Membership.objects.create(tenant=tenant, user=user, role=Role.CX_LEAD)
        client = Client()
        client.force_login(user)
        out.append((tenant, client))
    return out


def add_comments(owner, share: float, seed: int) -> float:
    """Give `share` of the scored, counted responses a comment (owner, forced RLS lifted for the update
    only), then VACUUM ANALYZE. Returns seconds."""
    from apps.metrics import rollups

    start = time.perf_counter()
    texts = "ARRAY[" + ", ".join("'" + t.replace("'", "''") + "'" for t in COMMENTS) + "]"
    with owner.rls_lifted([rollups.RESPONSES]):
        owner.run(f"SELECT setseed({(seed % 1000) / 1000})")
        owner.run(f"UPDATE {rollups.RESPONSES} SET comment = ({texts})[1 + floor(random() * {len(COMMENTS)})::int] "
                  "WHERE NOT is_bot AND (nps IS NOT NULL OR csat IS NOT NULL OR ces IS NOT NULL) AND random() < %s", [share])
    owner.run(f"VACUUM ANALYZE {rollups.RESPONSES}")
    return time.perf_counter() - start


def funnels(worlds) -> float:
    from apps.metrics.funnel import funnel_rebuild
    from apps.tenancy.context import tenant_context

    start = time.perf_counter()
    for w in worlds:
        with tenant_context(w.tenant):
            funnel_rebuild(w.tenant)
    return time.perf_counter() - start


def time_overview(leads, requests: int) -> dict:
    """Warm up, count one request's queries per tenant, then time `requests` requests round-robin."""
    urls = [reverse("dashboards:overview", kwargs={"tenant_slug": tenant.slug}) for tenant, _ in leads]
    queries, sizes = [], []
    for (_, client), url in zip(leads, urls, strict=True):
        for _ in range(WARMUP):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries.append(len(captured.captured_queries))
        sizes.append(len(response.content))
    by_tenant, db_ms, cpu_ms = [[] for _ in leads], [], []
    database = DatabaseTime()
    load_before = os.getloadavg()[0]
    with connection.execute_wrapper(database):
        for i in range(requests):
            k = i % len(leads)
            client, url = leads[k][1], urls[k]
            database.seconds = 0.0
            start, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            by_tenant[k].append((time.perf_counter() - start) * 1000)
            cpu_ms.append((time.process_time() - cpu) * 1000)
            db_ms.append(database.seconds * 1000)
            assert response.status_code == 200, (url, response.status_code)
    every = [ms for times in by_tenant for ms in times]
    return {"p50": percentile(every, 50), "p95": percentile(every, 95), "mean": statistics.fmean(every),
            "biggest_p50": percentile(by_tenant[0], 50), "biggest_p95": percentile(by_tenant[0], 95),
            "db_p50": percentile(db_ms, 50), "db_p95": percentile(db_ms, 95), "cpu_p50": percentile(cpu_ms, 50),
            "queries": (min(queries), max(queries)), "bytes": max(sizes), "requests": len(every),
            "load": (load_before, os.getloadavg()[0])}


class DatabaseTime:
    """connection.execute_wrapper: wall time spent in SQL statements (round trips included)."""

    seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def settle(owner) -> float:
    """VACUUM ANALYZE what the rebuild wrote, as autovacuum would soon after: the planner sees the new rows'
    statistics, and no autovacuum worker starts on two cores in the middle of the timing."""
    from apps.metrics import rollups

    start = time.perf_counter()
    for table in (rollups.CELLS, rollups.ROLLUPS, rollups.TRANSITIONS, "metrics_funnelrollup", "metrics_rolluprun"):
        owner.run(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - start


def measure(owner, worlds, leads, n: int, args) -> dict:
    from apps.metrics import rollups
    from apps.surveys.models import Response
    from apps.tenancy.context import tenant_context

    print(f"\n== {n:,} responses across {bench_metrics.TENANTS} tenants")
    copy_s, keys_s, vacuum_s = bench_metrics.load(owner, worlds, n, args.seed)
    comments_s = add_comments(owner, args.comments, args.seed)
    build_s, _ = bench_metrics.build(worlds)
    funnel_s = funnels(worlds)
    settle_s = settle(owner)
    with owner.rls_lifted([rollups.RESPONSES]):
        loaded = owner.run(f"SELECT count(*) FROM {rollups.RESPONSES}")[0][0]
    assert loaded == n, f"loaded {loaded:,} responses, not {n:,}"
    counts = []
    for tenant, _ in leads:
        with tenant_context(tenant):
            counts.append(Response.objects.count())
    print(f"  load: COPY {copy_s:.1f} s, foreign keys {keys_s:.1f} s, VACUUM ANALYZE {vacuum_s:.1f} s, comments {comments_s:.1f} s, "
          f"rollups_rebuild × {bench_metrics.TENANTS} {build_s:.1f} s, funnel_rebuild × {bench_metrics.TENANTS} {funnel_s:.1f} s, "
          f"VACUUM ANALYZE of the rollups {settle_s:.1f} s")
    print(f"  timed tenants' responses: {', '.join(f'{c:,}' for c in counts)}")
    out = time_overview(leads, args.requests)
    out.update(n=n, biggest_n=counts[0])
    print(f"  overview (default filters): p50 {out['p50']:.1f} ms  p95 {out['p95']:.1f} ms  mean {out['mean']:.1f} ms "
          f"over {out['requests']} requests; biggest tenant p50 {out['biggest_p50']:.1f} ms  p95 {out['biggest_p95']:.1f} ms")
    print(f"      of which in SQL: p50 {out['db_p50']:.1f} ms  p95 {out['db_p95']:.1f} ms; CPU p50 {out['cpu_p50']:.1f} ms; "
          f"{out['queries'][0]}–{out['queries'][1]} queries, "
          f"{out['bytes'] / 1024:.0f} KiB per page; load average {out['load'][0]:.1f} → {out['load'][1]:.1f} during the timing")
    return out


def report(results: list[dict]) -> None:
    base = results[0]
    print("\n== CX lead overview, server time (Django test Client, in process), default filters")
    print(f"{'responses':>12} {'p50 ms':>8} {'p95 ms':>8} {'biggest p50':>12} {'biggest p95':>12} {'SQL p50':>8} {'CPU p50':>8} {'queries':>8} "
          f"{'requests':>9} {'load avg':>9}")
    for r in results:
        print(f"{r['n']:>12,} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['biggest_p50']:>12.1f} {r['biggest_p95']:>12.1f} {r['db_p50']:>8.1f} "
              f"{r['cpu_p50']:>8.1f} {r['queries'][1]:>8} {r['requests']:>9} {max(r['load']):>9.1f}")
    print(f"\n{'ratio':<66} {'target':>7} {'measured':>9}  ok")
    for large in results[1:]:
        for key, label in (("p50", "p50"), ("p95", "p95"), ("biggest_p50", "biggest tenant p50"), ("db_p50", "time in SQL p50"),
                           ("cpu_p50", "CPU time p50 (steadier on a busy machine)")):
            ratio, name, target = large[key] / base[key], f"{label}: {large['n']:,} ÷ {base['n']:,}", f"≤ {TARGET}"
            print(f"{name:<66} {target:>7} {ratio:9.2f}  {'yes' if ratio <= TARGET else 'NO'}")
    print(f"peak RSS of the bench process: {bench_metrics.rss_mb():,.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated response counts (the first is the baseline)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10,000 and 100,000 responses, fewer requests")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per size (default 400, --quick 80)")
    parser.add_argument("--comments", type=float, default=0.2, help="share of scored responses given a comment")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.requests is None:
        args.requests = 80 if args.quick else 400
    if len(sizes) < 2:
        parser.error("give at least two sizes: the baseline and a large one")
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    connection.settings_dict["TEST"]["NAME"] = DATABASE_NAME
    owner_settings = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    bench_settings = {**owner_settings, "NAME": connection.settings_dict["NAME"]}
    owner = None
    try:
        owner = bench_metrics.Owner(bench_settings)
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        start = time.perf_counter()
        worlds = bench_metrics.make_world(max(sizes), random.Random(args.seed))
        leads = make_leads(worlds)
        print(f"world: {bench_metrics.TENANTS} tenants, {sum(len(w.clients) for w in worlds):,} clients in "
              f"{time.perf_counter() - start:.1f} s; timed tenants {', '.join(t.slug for t, _ in leads)}; "
              f"Postgres {owner.run('SHOW server_version')[0][0]}")
        results = [measure(owner, worlds, leads, n, args) for n in sizes]
        report(results)
    finally:
        if owner is not None:
            owner.conn.close()
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner_settings["USER"], owner_settings["PASSWORD"]
        if not args.keep_db:
            connection.creation.destroy_test_db(owner_settings["NAME"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
