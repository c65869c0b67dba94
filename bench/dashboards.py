"""Benchmark of the CX lead overview (issue 7 "Benchmark"): server time of `dashboards:overview` with its
default filters at 100,000 and at 1,000,000 responses across 100 tenants, and the ratio (target ≤ 1.3).

    .venv/bin/python bench/dashboards.py                       # 100,000 and 1,000,000 responses (~10 min on 2 cores)
    .venv/bin/python bench/dashboards.py --quick               # 10,000 and 100,000, 80 requests each: a smoke run (~3 min)
    .venv/bin/python bench/dashboards.py --sizes 50000,500000  # any sizes; the first is the baseline
    .venv/bin/python bench/dashboards.py --explain             # also EXPLAIN ANALYZE the slowest statement, per size
    .venv/bin/python bench/dashboards.py --pages all           # every dashboard page (journeys, churn, perception, executive)
    .venv/bin/python bench/dashboards.py --profile             # and cProfile the biggest tenant's requests of each page

The world and the load are bench/metrics.py's, imported, not copied: the same throwaway database (created
as the owner role under its own name, test_cxm_bench_dashboards, then used as the app role with row-level
security forced), the same 100 tenants of skewed sizes with surveys, touchpoints, journeys, segments, staff
and clients, and for each size N the same `COPY` of N responses spread over two years ending today, then
VACUUM ANALYZE and `rollups_rebuild` of every tenant as the app role. On top of that load this script
gives a share of the scored responses a comment (the overview lists the latest ones; the metrics loader
writes none), rebuilds each tenant's funnel and VACUUM ANALYZEs the rollup tables.

Each size gets its own database: after the world and one signed-in CX lead per timed tenant (eight
tenants across the size range, the biggest first) are created, the database is copied (CREATE DATABASE …
TEMPLATE: same ids, same sessions) once per further size, and each copy is loaded with its N. The leads
then request the overview through Django's test Client — in process, the whole middleware stack
(session, CSP, tenant resolution and its transaction, role check), the page builder and the template, no
network — in rounds alternating between the sizes' databases, so that every size meets the same
background load on a shared machine (sequential runs differed by more than the effect measured). It
prints the wall-time p50/p95 (all tenants, and the biggest alone), per request the time spent in SQL and
the process CPU time, the queries of one request, the slowest statements of the biggest tenant, the load
average, and the ratios of the large size to the baseline. Nothing outside the bench databases is
touched; they are dropped at the end unless --keep-db.
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
SQL_TARGET = 2.0  # issue 18 P7: a page's server time ÷ the time of its own SQL statements
PAGES = ("overview", "journeys", "churn", "perception_gap", "executive")  # url names in apps/dashboards/urls.py
PAGE = "overview"  # the page being timed (--pages runs the whole bench once per page)


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
    from apps.metrics.funnel.services import funnel_rebuild
    from apps.tenancy.context import tenant_context

    start = time.perf_counter()
    for w in worlds:
        with tenant_context(w.tenant):
            funnel_rebuild(w.tenant)
    return time.perf_counter() - start


def settle(owner) -> float:
    """VACUUM ANALYZE what the rebuild wrote, as autovacuum would soon after: the planner sees the new rows'
    statistics, and no autovacuum worker starts on two cores in the middle of the timing."""
    from apps.metrics import rollups

    start = time.perf_counter()
    for table in (rollups.CELLS, rollups.ROLLUPS, rollups.TRANSITIONS, "metrics_funnelrollup", "metrics_rolluprun"):
        owner.run(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - start


def copy_database(maintenance, source: str, target: str, attempts: int = 30) -> None:
    """CREATE DATABASE target TEMPLATE source; retried while an autovacuum worker still holds the source."""
    import psycopg2

    for attempt in range(attempts):
        try:
            maintenance.run(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
            return
        except psycopg2.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def use_database(name: str) -> None:
    """Point every Django connection at database `name` (reconnects on the next query)."""
    for conn in connections.all():
        conn.close()
        conn.settings_dict["NAME"] = name


def check_pages(leads) -> dict:
    """Warm up (templates, first-request work), check every page answers 200, count one request's queries."""
    queries, sizes = [], []
    for tenant, client in leads:
        url = overview_url(tenant)
        for _ in range(WARMUP):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries.append(len(captured.captured_queries))
        sizes.append(len(response.content))
    return {"queries": (min(queries), max(queries)), "bytes": max(sizes)}


def overview_url(tenant) -> str:
    """The URL of the page being timed (PAGE; the overview unless --pages says otherwise)."""
    return reverse(f"dashboards:{PAGE}", kwargs={"tenant_slug": tenant.slug})


class Timings:
    """One size's samples: wall ms per tenant, SQL ms, CPU ms (process time), load averages seen."""

    def __init__(self, tenants: int):
        self.wall = [[] for _ in range(tenants)]
        self.sql, self.cpu, self.load = [], [], []

    def summary(self) -> dict:
        every = [ms for times in self.wall for ms in times]
        return {"p50": percentile(every, 50), "p95": percentile(every, 95), "mean": statistics.fmean(every),
                "biggest_p50": percentile(self.wall[0], 50), "biggest_p95": percentile(self.wall[0], 95),
                "db_p50": percentile(self.sql, 50), "db_p95": percentile(self.sql, 95), "cpu_p50": percentile(self.cpu, 50),
                "requests": len(every), "load": (min(self.load), max(self.load))}


def time_interleaved(databases: list[str], leads, requests: int, rounds: int) -> list[dict]:
    """`requests` timed requests per database, in `rounds` batches alternating between the databases,
    so every size meets the same background load (the machine is shared). Within a batch the tenants
    take turns; after each switch one untimed request per tenant opens the new connection."""
    timings = [Timings(len(leads)) for _ in databases]
    database = DatabaseTime()
    per_batch = [requests // rounds + (1 if r < requests % rounds else 0) for r in range(rounds)]
    with connection.execute_wrapper(database):
        for batch in per_batch:
            for name, timing in zip(databases, timings, strict=True):
                use_database(name)
                for tenant, client in leads:
                    client.get(overview_url(tenant))
                timing.load.append(os.getloadavg()[0])
                for i in range(batch):
                    k = i % len(leads)
                    tenant, client = leads[k]
                    database.seconds = 0.0
                    start, cpu = time.perf_counter(), time.process_time()
                    response = client.get(overview_url(tenant))
                    timing.wall[k].append((time.perf_counter() - start) * 1000)
                    timing.cpu.append((time.process_time() - cpu) * 1000)
                    timing.sql.append(database.seconds * 1000)
                    assert response.status_code == 200, (tenant.slug, response.status_code)
    return [t.summary() for t in timings]


def slowest_statements(client, url: str, requests: int = 30, top: int = 6) -> list[tuple[float, str, object]]:
    """The page's statements by median wall time over `requests` requests (one tenant): where SQL time goes."""
    log = StatementLog()
    with connection.execute_wrapper(log):
        for _ in range(requests):
            client.get(url)
    ranked = sorted(((statistics.median(times), sql, log.params[sql]) for sql, times in log.times.items()),
                    key=lambda row: row[0], reverse=True)
    return ranked[:top]


def explain(tenant, sql: str, params) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement as the app role with the tenant active."""
    from apps.tenancy.context import tenant_context

    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


class StatementLog:
    """connection.execute_wrapper: every statement's wall times, keyed by its SQL (parameters apart)."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.params: dict[str, object] = {}

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.setdefault(sql, []).append((time.perf_counter() - start) * 1000)
            self.params[sql] = params


class DatabaseTime:
    """connection.execute_wrapper: wall time spent in SQL statements (round trips included)."""

    seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def prepare(owner, worlds, leads, n: int, args) -> dict:
    """Load n responses into the current database (bench/metrics.py's loader), comments, rollups, funnels."""
    from apps.metrics import rollups
    from apps.surveys.models import Response
    from apps.tenancy.context import tenant_context

    print(f"\n== {n:,} responses across {bench_metrics.TENANTS} tenants (database {connection.settings_dict['NAME']})")
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
    out = {"n": n, "biggest_n": counts[0], **check_pages(leads)}
    tenant, client = leads[0]
    out["statements"] = slowest_statements(client, overview_url(tenant))
    print(f"  one page: {out['queries'][0]}–{out['queries'][1]} queries, {out['bytes'] / 1024:.0f} KiB; "
          f"slowest statements for {tenant.slug} (median ms of 30 requests):")
    for ms, sql, _ in out["statements"]:
        print(f"    {ms:7.2f}  {' '.join(sql.split())[:130]}")
    if args.explain:
        ms, sql, params = out["statements"][0]
        print(f"\n  EXPLAIN (ANALYZE, BUFFERS) of the slowest, {tenant.slug}:\n" + explain(tenant, sql, params))
    return out


def profile(lead, requests: int = 30, top: int = 40) -> None:
    """cProfile of `requests` requests of the timed page by one tenant (the current database): where the Python time goes."""
    import cProfile
    import pstats

    tenant, client = lead
    client.get(overview_url(tenant))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(overview_url(tenant))
    profiler.disable()
    print(f"\n== cProfile of {requests} {PAGE} requests, {tenant.slug} (cumulative, then own time)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def report(results: list[dict]) -> None:
    base = results[0]
    print(f"\n== {PAGE}: server time ÷ time in its SQL (p50 of each), issue 18 P7")
    print(f"{'responses':>12} {'server p50 ms':>14} {'SQL p50 ms':>11} {'ratio':>7} {'target':>7}  ok")
    for r in results:
        ratio = r["p50"] / r["db_p50"] if r["db_p50"] else float("inf")
        print(f"{r['n']:>12,} {r['p50']:>14.1f} {r['db_p50']:>11.1f} {ratio:>7.2f} {'≤ ' + str(SQL_TARGET):>7}  "
              f"{'yes' if ratio <= SQL_TARGET else 'NO'}")
    print(f"\n== {PAGE}, server time (Django test Client, in process), default filters; sizes timed interleaved")
    print(f"{'responses':>12} {'p50 ms':>8} {'p95 ms':>8} {'biggest p50':>12} {'biggest p95':>12} {'SQL p50':>8} {'CPU p50':>8} {'queries':>8} "
          f"{'requests':>9} {'load avg':>9}")
    for r in results:
        print(f"{r['n']:>12,} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['biggest_p50']:>12.1f} {r['biggest_p95']:>12.1f} {r['db_p50']:>8.1f} "
              f"{r['cpu_p50']:>8.1f} {r['queries'][1]:>8} {r['requests']:>9} {r['load'][0]:>4.1f}–{r['load'][1]:.1f}")
    print(f"\n{'ratio':<66} {'target':>7} {'measured':>9}  ok")
    for large in results[1:]:
        for key, label in (("p50", "p50"), ("p95", "p95"), ("biggest_p50", "biggest tenant p50"), ("db_p50", "time in SQL p50"),
                           ("cpu_p50", "CPU time p50")):
            ratio, name, target = large[key] / base[key], f"{label}: {large['n']:,} ÷ {base['n']:,}", f"≤ {TARGET}"
            print(f"{name:<66} {target:>7} {ratio:9.2f}  {'yes' if ratio <= TARGET else 'NO'}")
    print(f"peak RSS of the bench process: {bench_metrics.rss_mb():,.0f} MB")


def main() -> int:
    global PAGE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated response counts (the first is the baseline)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10,000 and 100,000 responses, fewer requests")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per size (default 400, --quick 80)")
    parser.add_argument("--rounds", type=int, default=None, help="batches the sizes alternate in (default 10, --quick 4)")
    parser.add_argument("--comments", type=float, default=0.2, help="share of scored responses given a comment")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statement of the biggest tenant, per size")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench databases afterwards")
    parser.add_argument("--profile", action="store_true", help="cProfile 30 requests of the biggest tenant at the largest size")
    parser.add_argument("--pages", default="overview", help=f"comma-separated dashboard pages to time, of {', '.join(PAGES)} (or 'all')")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.requests is None:
        args.requests = 80 if args.quick else 400
    args.rounds = max(1, min(args.requests, args.rounds or (4 if args.quick else 10)))
    if len(sizes) < 2:
        parser.error("give at least two sizes: the baseline and a large one")
    pages = PAGES if args.pages == "all" else tuple(p.strip() for p in args.pages.split(",") if p.strip())
    if not pages or set(pages) - set(PAGES):
        parser.error(f"--pages: choose among {', '.join(PAGES)} or 'all'")
    PAGE = pages[0]
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    connection.settings_dict["TEST"]["NAME"] = DATABASE_NAME
    owner_settings = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    first_db = connection.settings_dict["NAME"]
    # One database per size, each a copy of the first with the world and the signed-in leads (same ids,
    # same sessions), so the sizes can be timed in alternation.
    databases = [first_db] + [f"{first_db}_{i}" for i in range(1, len(sizes))]
    maintenance = bench_metrics.Owner({**owner_settings, "NAME": "postgres"})
    owners = []
    try:
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        start = time.perf_counter()
        worlds = bench_metrics.make_world(max(sizes), random.Random(args.seed))
        leads = make_leads(worlds)
        for conn in connections.all():
            conn.close()
        for name in databases[1:]:
            maintenance.run(f'DROP DATABASE IF EXISTS "{name}"')
            copy_database(maintenance, first_db, name)
        print(f"world: {bench_metrics.TENANTS} tenants, {sum(len(w.clients) for w in worlds):,} clients, {len(databases)} databases in "
              f"{time.perf_counter() - start:.1f} s; timed tenants {', '.join(t.slug for t, _ in leads)}; "
              f"Postgres {maintenance.run('SHOW server_version')[0][0]}")
        results = []
        for name, n in zip(databases, sizes, strict=True):
            use_database(name)
            owners.append(bench_metrics.Owner({**owner_settings, "NAME": name}))
            results.append(prepare(owners[-1], worlds, leads, n, args))
        for page in pages:
            PAGE = page
            if page != pages[0]:
                for result, name in zip(results, databases, strict=True):
                    use_database(name)
                    result.update(check_pages(leads))
            print(f"\n== timing {page}: {args.requests} requests per size in {args.rounds} rounds alternating between the sizes")
            for result, timing in zip(results, time_interleaved(databases, leads, args.requests, args.rounds), strict=True):
                result.update(timing)
            report(results)
            if args.profile:
                profile(leads[0])
    finally:
        for owner in owners:
            owner.conn.close()
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner_settings["USER"], owner_settings["PASSWORD"]
            conn.settings_dict["NAME"] = first_db
        if not args.keep_db:
            for name in databases[1:]:
                maintenance.run(f'DROP DATABASE IF EXISTS "{name}"')
            connection.creation.destroy_test_db(owner_settings["NAME"], verbosity=0)
        maintenance.conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
