"""Benchmark of the metrics engine (issue 6): rollup build cost and summary latency on Postgres.

    .venv/bin/python bench/metrics.py                       # 100,000 and 1,000,000 responses
    .venv/bin/python bench/metrics.py --huge                # and 10,000,000
    .venv/bin/python bench/metrics.py --sizes 20000,200000  # a quick run (the first size is the baseline)
    .venv/bin/python bench/metrics.py --explain             # also EXPLAIN ANALYZE one rebuild month of the biggest tenant

Creates a throwaway database (test_cxm_bench_metrics) as the owner role and migrates it, then works as
the app role (not owner, row-level security forced) exactly as production workers and web do. One world
of 100 tenants (time zones round the globe, sizes skewed like a real customer base: the biggest ~10x the
median) each with a handful of surveys of every kind, touchpoints, two journeys of four stages, segments,
staff and clients. For each size N it then

1. loads N responses with one Postgres `COPY` (owner; forced RLS lifted for the load only, as a restore
   would), spread day by day over two years (weekday-heavy, growing), realistic attribution and scores
   by survey kind, 1% bot-flagged; then VACUUM ANALYZE;
2. times the bare baselines as the owner over all tenants' rows at once: the engine's own cells
   statement (`rollups.CELLS_SELECT` without its tenant and day filter) as one
   `INSERT … SELECT … GROUP BY` into a copy of the cell table (same indexes), and, for honesty, the
   cheapest useful statement: one tenant × day total `GROUP BY`. Each runs twice; the faster counts;
3. builds the rollups with the engine: `rollups_rebuild(tenant)` for every tenant, as the app role under
   RLS, timing every statement by kind (where the time goes);
4. times `apps.metrics.scores.selectors.metrics_summary` (median of many calls, each in its own tenant
   transaction as a request would be) for the biggest tenant over 90 days and over one year — as a dashboard
   reads it (kept by apps.metrics.readcache until the rollups change: one version read) and computed on every
   call (the cache off: what the first read after a write costs) — and the
   naive alternative: the same statistics aggregated from the raw response rows of both periods
   (then `stats.summary`), as the app role.

Finally it prints the ratio table (targets from issue 6) and the absolute timings. Nothing outside the
bench database is touched; it is dropped at the end unless --keep-db.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_metrics"

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from apps.metrics import rollups, stats  # noqa: E402
from apps.metrics.buckets import Bucket  # noqa: E402
from apps.metrics.models import STAT_FIELDS  # noqa: E402

TENANTS = 100
SPAN_DAYS = 730
ZONES = ("Europe/Brussels", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney", "America/Los_Angeles",
         "Europe/London", "Asia/Kolkata", "America/Sao_Paulo", "Africa/Johannesburg")
# Survey kinds per tenant and their share of responses; channels; answer distributions (index = score).
SURVEY_MIX = (("nps", 30), ("nps", 15), ("csat", 25), ("ces", 15), ("smiley", 10), ("enps", 5))
CHANNEL_MIX = (("email", 50), ("web", 25), ("kiosk", 10), ("embed", 10), ("api", 5))
NPS_W = (2, 1, 1, 2, 2, 4, 6, 10, 18, 24, 30)  # 0..10, mostly passives and promoters
CSAT_W = (0, 5, 7, 13, 35, 40)  # 1..5
CES_W = (0, 3, 4, 6, 12, 20, 30, 25)  # 1..7
SMILEY_W = (0, 15, 25, 60)  # 1..3
HOUR_W = (1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 15, 12, 14, 15, 15, 14, 12, 9, 7, 5, 3, 2, 1)
CLIENT_DENSITY = 20  # responses per client over the two years (clients scale with the tenant)

COPY_COLUMNS = ("tenant_id", "uuid", "survey_id", "version_id", "client_id", "touchpoint_id", "stage_id", "journey_id", "staff_id",
                "segment_id", "channel", "language", "submitted_at", "local_day", "nps", "csat", "ces", "smiley", "enps", "predicted",
                "comment", "submission_key", "is_bot", "bot_reason", "comment_analyser", "comment_language")


def table(weights) -> tuple[int, ...]:
    """A lookup table: indexing it uniformly picks value i with probability weights[i] / sum."""
    return tuple(i for i, w in enumerate(weights) for _ in range(w))


NPS_T, CSAT_T, CES_T, SMILEY_T, HOUR_T = table(NPS_W), table(CSAT_W), table(CES_W), table(SMILEY_W), table(HOUR_W)
CHANNEL_T = tuple(c for c, w in CHANNEL_MIX for _ in range(w))


@dataclass
class TenantWorld:
    tenant: object
    zone: ZoneInfo
    share: float  # of all responses
    surveys: tuple = ()  # lookup table of (survey_id, version_id, kind)
    touchpoints: tuple = ()
    stages: tuple = ()  # (stage_id, journey_id)
    staff: tuple = ()
    clients: list = field(default_factory=list)  # (client_id, segment_id or None)

    def offset(self, day: date, hour: int) -> str:
        """The zone's UTC offset at that local hour, as "+HH:MM" (so submitted_at's local date is local_day)."""
        key = (self.zone.key, day, hour)
        text = _OFFSETS.get(key)
        if text is None:
            minutes = int(datetime(day.year, day.month, day.day, hour, 30, tzinfo=self.zone).utcoffset().total_seconds()) // 60
            sign = "+" if minutes >= 0 else "-"
            text = _OFFSETS[key] = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return text


_OFFSETS: dict[tuple, str] = {}


# --- setup -------------------------------------------------------------------------------------

def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_world(max_n: int, rng: random.Random) -> list[TenantWorld]:
    """100 tenants with their attribution objects (as the app role, each tenant active in turn)."""
    from apps.accounts.models import User
    from apps.clients.models import Client, Segment
    from apps.journeys.models import Journey, Stage
    from apps.surveys.models import Survey, SurveyVersion
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Membership, Role, Tenant
    from apps.touchpoints.models import Touchpoint

    weights = [(i + 1) ** -0.7 for i in range(TENANTS)]
    total = sum(weights)
    worlds = []
    for i, weight in enumerate(weights):
        tenant = Tenant.objects.create(name=f"Bench {i:03d}", slug=f"bench-{i:03d}", time_zone=ZONES[i % len(ZONES)])
        w = TenantWorld(tenant, ZoneInfo(tenant.time_zone), weight / total)
        users = User.objects.bulk_create([User(email=f"staff{j}@bench-{i:03d}.example", full_name=f"Staff {j}") for j in range(10)])
        with tenant_context(tenant):
            staff = Membership.objects.bulk_create([Membership(tenant=tenant, user=u, role=Role.STAFF) for u in users])
            surveys = []
            for j, (kind, share) in enumerate(SURVEY_MIX):
                survey = Survey.objects.create(tenant=tenant, name=f"{kind} {j}", kind=kind, languages=["en"])
                version = SurveyVersion.objects.create(tenant=tenant, survey=survey, number=1, texts={"en": {"title": "How did we do?"}})
                surveys += [(survey.pk, version.pk, kind)] * share
            channels = ("phone", "email", "web", "in_person", "chat", "app", "kiosk", "mail")
            touchpoints = Touchpoint.objects.bulk_create([Touchpoint(tenant=tenant, name=f"Touchpoint {j}", channel=c)
                                                          for j, c in enumerate(channels)])
            stages = []
            for j in range(2):
                journey = Journey.objects.create(tenant=tenant, name=f"Journey {j}")
                stages += [(s.pk, journey.pk) for s in Stage.objects.bulk_create(
                    [Stage(tenant=tenant, journey=journey, order=k + 1, name=f"Stage {k}") for k in range(4)])]
            segments = Segment.objects.bulk_create([Segment(tenant=tenant, name=n) for n in ("Enterprise", "Mid-market", "SMB")])
            n_clients = min(5000, max(20, round(max_n * w.share / CLIENT_DENSITY)))
            clients = Client.objects.bulk_create([
                Client(tenant=tenant, name=f"Client {k}", active_from=date(2023, 1, 1), segment=rng.choice([None, *segments]))
                for k in range(n_clients)], batch_size=2000)
        w.surveys = tuple(surveys)
        w.touchpoints = tuple(t.pk for t in touchpoints)
        w.stages = tuple(stages)
        w.staff = tuple(m.pk for m in staff)
        w.clients = [(c.pk, c.segment_id) for c in clients]
        worlds.append(w)
    return worlds


# --- data --------------------------------------------------------------------------------------

def day_counts(worlds: list[TenantWorld], n: int, seed: int) -> np.ndarray:
    """Exactly n responses as a tenant × day matrix: tenant shares, weekends quieter, growth over time."""
    days = np.arange(SPAN_DAYS)
    first = date.today() - timedelta(days=SPAN_DAYS - 1)
    weekday = np.array([(first + timedelta(days=int(d))).weekday() for d in days])
    season = np.where(weekday >= 5, 0.4, 1.0) * np.linspace(0.6, 1.4, SPAN_DAYS)
    p = np.outer([w.share for w in worlds], season)
    return np.random.default_rng(seed).multinomial(n, (p / p.sum()).ravel()).reshape(p.shape)


def response_lines(worlds: list[TenantWorld], counts: np.ndarray, rng: random.Random):
    """COPY text, in submission order across tenants (as a live table fills), a chunk per day."""
    r, bits = rng.random, rng.getrandbits
    first = date.today() - timedelta(days=SPAN_DAYS - 1)
    per_tenant = counts.sum(axis=1)
    reach = [min(len(w.clients), max(20, round(int(per_tenant[t]) / CLIENT_DENSITY))) for t, w in enumerate(worlds)]
    for d in range(SPAN_DAYS):
        day = first + timedelta(days=d)
        day_iso = day.isoformat()
        out = []
        for t, w in enumerate(worlds):
            tid, surveys, tps, stages, staff, clients, k = w.tenant.pk, w.surveys, w.touchpoints, w.stages, w.staff, w.clients, reach[t]
            for _ in range(int(counts[t, d])):
                survey, version, kind = surveys[int(r() * len(surveys))]
                hour = HOUR_T[int(r() * len(HOUR_T))]
                ts = f"{day_iso} {hour:02d}:{int(r() * 60):02d}:{int(r() * 60):02d}{w.offset(day, hour)}"
                nps = csat = ces = smiley = enps = predicted = "\\N"
                client = touchpoint = stage = journey = member = segment = "\\N"
                if kind == "enps":  # employees: no client attribution
                    enps = NPS_T[int(r() * len(NPS_T))] if r() < 0.95 else "\\N"
                else:
                    if r() < 0.85:
                        client_id, segment_id = clients[int(r() * k)]
                        client, segment = client_id, segment_id or "\\N"
                    if r() < 0.8:
                        touchpoint = tps[int(r() * len(tps))]
                    if r() < 0.6:
                        stage, journey = stages[int(r() * len(stages))]
                    if r() < 0.55:
                        member = staff[int(r() * len(staff))]
                    if kind == "nps":
                        if r() < 0.93:
                            nps = NPS_T[int(r() * len(NPS_T))]
                            if member != "\\N" and r() < 0.7:  # the staff member's prediction, a little optimistic
                                predicted = min(10, max(0, nps + int(r() * 5) - 1))
                    elif kind == "csat":
                        csat = CSAT_T[int(r() * len(CSAT_T))] if r() < 0.95 else "\\N"
                    elif kind == "ces":
                        ces = CES_T[int(r() * len(CES_T))] if r() < 0.95 else "\\N"
                    else:
                        smiley = SMILEY_T[int(r() * len(SMILEY_T))]
                channel = CHANNEL_T[int(r() * len(CHANNEL_T))]
                bot = "t" if r() < 0.01 else "f"
                out.append(f"{tid}\t{bits(128):032x}\t{survey}\t{version}\t{client}\t{touchpoint}\t{stage}\t{journey}\t{member}\t"
                           f"{segment}\t{channel}\ten\t{ts}\t{day_iso}\t{nps}\t{csat}\t{ces}\t{smiley}\t{enps}\t{predicted}\t\t\t{bot}\t\t0\t\n")
        yield "".join(out)


class Chunks:
    """A file-like reader over a generator of strings (psycopg2's copy_expert reads from it)."""

    def __init__(self, chunks):
        self.chunks = iter(chunks)

    def read(self, size=-1):
        # An empty string is end-of-file to copy_expert: skip a day without responses (small N) instead of stopping there.
        return next((chunk for chunk in self.chunks if chunk), "")


# --- owner-side helpers ---------------------------------------------------------------------------

class Owner:
    """A psycopg2 connection as the table owner, for the bulk load and the bare baselines."""

    def __init__(self, settings_dict: dict):
        self.conn = psycopg2.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"], password=settings_dict["PASSWORD"] or None,
                                     host=settings_dict["HOST"] or "127.0.0.1", port=settings_dict["PORT"] or 5432)
        self.conn.autocommit = True

    def run(self, sql: str, params=None):
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def timed(self, sql: str, params=None) -> float:
        start = time.perf_counter()
        self.run(sql, params)
        return time.perf_counter() - start

    @contextlib.contextmanager
    def rls_lifted(self, tables):
        """The owner sees every tenant's rows of `tables` meanwhile (forced RLS lifted, then restored)."""
        forced = [t for t in tables if self.run("SELECT relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", [t])[0][0]]
        for t in forced:
            self.run(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
        try:
            yield
        finally:
            for t in forced:
                self.run(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")


def load(owner: Owner, worlds: list[TenantWorld], n: int, seed: int) -> tuple[float, float]:
    """Empty the response and rollup tables, COPY n responses, VACUUM ANALYZE. (copy s, foreign keys s, vacuum s)"""
    owner.run(f"TRUNCATE {rollups.RESPONSES}, {rollups.CELLS}, {rollups.ROLLUPS}, {rollups.MONTHS}, {rollups.TRANSITIONS}, metrics_rolluprun "
              "CASCADE")
    counts = day_counts(worlds, n, seed)
    # As pg_restore does: data first, then the foreign keys (one validating join each instead of ten
    # lookups per row). The owner loads with forced RLS lifted (here, and on the referenced tables while
    # the keys are validated); the app role never bypasses it.
    foreign_keys = owner.run("SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint "
                             "WHERE conrelid = %s::regclass AND contype = 'f'", [rollups.RESPONSES])
    with owner.rls_lifted([rollups.RESPONSES, *{target for _, _, target in foreign_keys}]):
        for name, _, _ in foreign_keys:
            owner.run(f'ALTER TABLE {rollups.RESPONSES} DROP CONSTRAINT "{name}"')
        start = time.perf_counter()
        try:
            with owner.conn.cursor() as cursor:
                cursor.copy_expert(f"COPY {rollups.RESPONSES} ({', '.join(COPY_COLUMNS)}) FROM STDIN",
                                   Chunks(response_lines(worlds, counts, random.Random(seed))))
            copy_s = time.perf_counter() - start
        finally:
            for name, definition, _ in foreign_keys:
                owner.run(f'ALTER TABLE {rollups.RESPONSES} ADD CONSTRAINT "{name}" {definition}')
    keys_s = time.perf_counter() - start - copy_s
    vacuum_s = owner.timed(f"VACUUM ANALYZE {rollups.RESPONSES}")
    return copy_s, keys_s, vacuum_s


def bare_baselines(owner: Owner) -> dict:
    """The engine's cells statement once over every tenant's rows, and one tenant × day total GROUP BY,
    each an INSERT … SELECT into a copy of the table it would fill (same indexes), as the owner."""
    needle = "WHERE tenant_id = %s AND NOT is_bot AND local_day BETWEEN %s AND %s"
    assert needle in rollups.CELLS_SELECT, "the engine's cells statement changed shape: update the bench"
    cells_all = rollups.CELLS_SELECT.replace(needle, "WHERE NOT is_bot")
    cell_cols = ", ".join(("tenant_id", *rollups.CELL_KEY, *STAT_FIELDS))
    stats_sql = ", ".join(f"{sql} AS {name}" for name, sql in rollups._CELL_STATS_SQL.items())
    totals_all = (f"SELECT tenant_id, local_day, 'total', '', {stats_sql} FROM {rollups.RESPONSES} WHERE NOT is_bot "
                  "GROUP BY tenant_id, local_day")
    total_cols = ", ".join(("tenant_id", "day", "dimension", '"key"', *STAT_FIELDS))
    owner.run(f"DROP TABLE IF EXISTS bench_bare_cells, bench_bare_totals; "
              f"CREATE TABLE bench_bare_cells (LIKE {rollups.CELLS} INCLUDING ALL); "
              f"CREATE TABLE bench_bare_totals (LIKE {rollups.ROLLUPS} INCLUDING ALL)")
    with owner.rls_lifted([rollups.RESPONSES]):  # the owner reads every tenant's rows at once
        out = {}
        for name, target, cols, select in (("cells", "bench_bare_cells", cell_cols, cells_all),
                                           ("totals", "bench_bare_totals", total_cols, totals_all)):
            runs = []
            for _ in range(2):
                owner.run(f"TRUNCATE {target}")
                runs.append(owner.timed(f"INSERT INTO {target} ({cols}) {select}"))
            out[name] = min(runs)
            out[f"{name}_rows"] = owner.run(f"SELECT count(*), COALESCE(sum(responses), 0) FROM {target}")[0]
    return out


# --- app-role measurements ------------------------------------------------------------------------

class StatementTimer:
    """connection.execute_wrapper: wall time per statement kind ("INSERT metrics_responsecell", …)."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        words = sql.split(None, 3)
        verb = words[0].upper() if words else "?"
        if verb in ("INSERT", "DELETE") and len(words) > 2:
            kind = f"{verb} {words[2].strip(chr(34))}"
        elif "advisory" in sql:
            kind = "advisory lock"
        elif "set_config" in sql:
            kind = "tenant activation"
        else:
            kind = f"{verb} (other)"
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[kind] += time.perf_counter() - start
            self.calls[kind] += 1


def build(worlds: list[TenantWorld]) -> tuple[float, StatementTimer]:
    timer = StatementTimer()
    start = time.perf_counter()
    with connection.execute_wrapper(timer):
        for w in worlds:
            rollups.rollups_rebuild(w.tenant)
    return time.perf_counter() - start, timer


def stored_counts(worlds: list[TenantWorld]) -> dict:
    """What the engine stored, summed over the tenants (each read as the app role with its tenant active)."""
    from django.db.models import Sum

    from apps.metrics.models import ResponseCell, ResponseRollup, TransitionRollup
    from apps.tenancy.context import tenant_context

    out = defaultdict(int)
    for w in worlds:
        with tenant_context(w.tenant):
            out["cells"] += ResponseCell.objects.count()
            out["rollups"] += ResponseRollup.objects.count()
            out["transitions"] += TransitionRollup.objects.count()
            out["responses"] += ResponseRollup.objects.filter(dimension="total").aggregate(n=Sum("responses"))["n"] or 0
    return out


# --- the proposed set-based rebuild (measured, not the engine: a suggestion for apps/metrics/rollups.py) ---

def _proposed_rollups_sql() -> str:
    """All eight dimensions' rollups in one pass over the freshly inserted cells: a data-modifying CTE
    inserts the cells and hands them to one GROUP BY … GROUPING SETS (Postgres), instead of 8 UNION ALL
    scans of the stored cells per month."""
    dims = [d for d in rollups._ROLLUP_KEY_SQL if d.value != "total"]
    column = {"survey": "survey_id", "touchpoint": "touchpoint_id", "stage": "stage_id", "journey": "journey_id",
              "segment": "segment_id", "staff": "staff_id", "channel": "channel"}
    dimension = "CASE " + " ".join(f"WHEN GROUPING({column[d.value]}) = 0 THEN '{d.value}'" for d in dims) + " ELSE 'total' END"
    key = "CASE " + " ".join(f"WHEN GROUPING({column[d.value]}) = 0 THEN {rollups._ROLLUP_KEY_SQL[d]}" for d in dims) + " ELSE '' END"
    sums = ", ".join(f"SUM({name})" for name in STAT_FIELDS)
    sets = ", ".join(["()", *(f"({column[d.value]})" for d in dims)])
    cell_cols = rollups._columns(rollups._CELL_COLUMNS)
    return (f"WITH fresh AS (INSERT INTO {rollups.CELLS} ({cell_cols}) {rollups.CELLS_SELECT} RETURNING {cell_cols}) "
            f"INSERT INTO {rollups.ROLLUPS} ({rollups._columns(rollups._ROLLUP_COLUMNS)}) "
            f"SELECT tenant_id, day, {dimension}, {key}, {sums} FROM fresh GROUP BY tenant_id, day, GROUPING SETS ({sets})")


def proposed_build(worlds: list[TenantWorld]) -> tuple[float, StatementTimer]:
    """Per tenant, one transaction under the exclusive tenant lock (work_mem raised for it): delete its
    rows, cells + rollups in one statement over the whole span, transitions in one statement over the
    whole span (one window pass instead of one per month over every client's full history)."""
    from apps.tenancy.context import tenant_context

    timer = StatementTimer()
    sql = _proposed_rollups_sql()
    start = time.perf_counter()
    with connection.execute_wrapper(timer):
        for w in worlds:
            with tenant_context(w.tenant), connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")  # a batch job: keep the grouping sets' hash tables in memory
                rollups._lock_tenant(w.tenant, exclusive=True)
                span = rollups._tenant_day_span(w.tenant)
                for table in (rollups.CELLS, rollups.ROLLUPS, rollups.TRANSITIONS):
                    cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [w.tenant.pk])
                if span:
                    cursor.execute(sql, [w.tenant.pk, *span])
                    cursor.execute(f"INSERT INTO {rollups.TRANSITIONS} ({rollups._columns(rollups._TRANSITION_COLUMNS)}) "
                                   f"{rollups.TRANSITIONS_SELECT}", rollups._params(w.tenant, *span, rollups.TRANSITIONS_SELECT))
    return time.perf_counter() - start, timer


def stored_fingerprint(owner: Owner) -> tuple[str, ...]:
    """md5 of every stored cell, rollup and transition (all tenants; the owner reads past RLS meanwhile)."""
    out = []
    with owner.rls_lifted([rollups.CELLS, rollups.ROLLUPS, rollups.TRANSITIONS]):
        for table, columns in ((rollups.CELLS, rollups._CELL_COLUMNS), (rollups.ROLLUPS, rollups._ROLLUP_COLUMNS),
                               (rollups.TRANSITIONS, rollups._TRANSITION_COLUMNS)):
            cols = ", ".join(f'"{c}"' for c in columns)
            out.append(owner.run(f"SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM (SELECT {cols} FROM {table}) r")[0][0])
    return tuple(out)


def summary_function():
    """The API's summary selector (Helper API's apps.metrics.scores.selectors.metrics_summary)."""
    from apps.metrics.params import MetricFilters
    from apps.metrics.scores.selectors import metrics_summary

    return lambda tenant, first, last: metrics_summary(tenant, MetricFilters(first=first, last=last)).metrics


NAIVE_SQL = (f"SELECT {', '.join(f'{sql} AS {name}' for name, sql in rollups._CELL_STATS_SQL.items())} FROM {rollups.RESPONSES} "
             "WHERE tenant_id = %s AND NOT is_bot AND local_day BETWEEN %s AND %s")


def naive_summary(tenant, first: date, last: date) -> dict:
    """What a dashboard without rollups would do: aggregate the raw rows of both periods per request."""
    days = (last - first).days + 1
    buckets = []
    with connection.cursor() as cursor:
        for a, b in ((first, last), (first - timedelta(days=days), first - timedelta(days=1))):
            cursor.execute(NAIVE_SQL, [tenant.pk, a, b])
            buckets.append(Bucket(*(int(v or 0) for v in cursor.fetchone())))
    return stats.summary(buckets[0], buckets[1], min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)


def median_ms(fn, tenant, first: date, last: date, calls: int) -> tuple[float, dict]:
    """Median wall time of `calls` calls, each in its own tenant transaction (as a request runs)."""
    from apps.tenancy.context import tenant_context

    with tenant_context(tenant):
        result = fn(tenant, first, last)  # warm-up (and the answer, for the cross-check)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        with tenant_context(tenant):
            fn(tenant, first, last)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def explain_month(worlds: list[TenantWorld]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of one rebuild month of the biggest tenant: its three SELECTs."""
    from apps.tenancy.context import tenant_context

    w = worlds[0]
    last = date.today().replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    with tenant_context(w.tenant), connection.cursor() as cursor:
        for label, select in (("cells", rollups.CELLS_SELECT), ("rollups (from stored cells)", rollups._rollups_select(rollups.CELLS)),
                              ("transitions", rollups.TRANSITIONS_SELECT)):
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {select}", rollups._params(w.tenant, first, last, select))
            print(f"\n--- EXPLAIN ANALYZE {label}, {w.tenant.slug}, {first}..{last}")
            print("\n".join(row[0] for row in cursor.fetchall()))


# --- the run ---------------------------------------------------------------------------------------

def measure(owner: Owner, worlds: list[TenantWorld], n: int, args) -> dict:
    from apps.surveys.models import Response
    from apps.tenancy.context import tenant_context

    print(f"\n== {n:,} responses across {TENANTS} tenants")
    copy_s, keys_s, vacuum_s = load(owner, worlds, n, args.seed)
    biggest = worlds[0]
    with tenant_context(biggest.tenant):
        biggest_n = Response.objects.count()
    print(f"  COPY {copy_s:6.1f} s ({n / copy_s:,.0f} rows/s, generation included)   foreign keys {keys_s:5.1f} s   "
          f"VACUUM ANALYZE {vacuum_s:5.1f} s   biggest tenant {biggest_n:,} rows   peak RSS {rss_mb():,.0f} MB")
    bare = bare_baselines(owner)
    print(f"  bare cells INSERT…SELECT…GROUP BY (all tenants, owner)  {bare['cells']:7.2f} s → {bare['cells_rows'][0]:,} cells")
    print(f"  bare tenant×day total GROUP BY (all tenants, owner)     {bare['totals']:7.2f} s → {bare['totals_rows'][0]:,} rows")
    build_s, timer = build(worlds)
    print(f"  engine: rollups_rebuild × {TENANTS} tenants (app role, RLS)    {build_s:7.2f} s   peak RSS {rss_mb():,.0f} MB")
    for kind, seconds in sorted(timer.seconds.items(), key=lambda kv: -kv[1]):
        print(f"      {kind:<42} {seconds:7.2f} s  {timer.calls[kind]:>6} statements")
    print(f"      {'outside statements (commits, Python)':<42} {build_s - sum(timer.seconds.values()):7.2f} s")
    # The steady state a deployment reads in (autovacuum analyses fresh tables soon after a rebuild): measured
    # after it, not while it runs beside the summary calls.
    owner.run(f"VACUUM ANALYZE {rollups.CELLS}, {rollups.ROLLUPS}, {rollups.MONTHS}, {rollups.TRANSITIONS}")
    stored = stored_counts(worlds)
    print(f"      stored: {stored['cells']:,} cells, {stored['rollups']:,} rollups, {stored['transitions']:,} transitions, "
          f"{stored['responses']:,} counted responses")
    # The bare statement and the engine must have produced the same thing, or the ratio means nothing.
    assert (stored["cells"], stored["responses"]) == (bare["cells_rows"][0], bare["cells_rows"][1]) == (stored["cells"], bare["totals_rows"][1])
    summary = summary_function()
    last = date.today()
    out = {"n": n, "copy": copy_s, "bare_cells": bare["cells"], "bare_totals": bare["totals"], "build": build_s,
           "build_by_kind": dict(timer.seconds), "biggest_n": biggest_n}
    for label, days in (("90d", 90), ("1y", 365)):
        first = last - timedelta(days=days - 1)
        ours, ours_result = median_ms(summary, biggest.tenant, first, last, args.calls)
        with override_settings(METRICS_READ_CACHE_ENTRIES=0):  # computed on every call: the statement and the statistics
            cold, cold_result = median_ms(summary, biggest.tenant, first, last, args.calls)
        naive, naive_result = median_ms(naive_summary, biggest.tenant, first, last, max(5, args.calls // 10))
        assert ours_result == cold_result
        for metric in ("nps", "csat", "ces"):  # same numbers both ways, or the comparison means nothing
            assert ours_result[metric]["n"] == naive_result[metric]["n"], (metric, ours_result[metric], naive_result[metric])
        out[f"summary_{label}"], out[f"cold_{label}"], out[f"naive_{label}"] = ours, cold, naive
        print(f"  summary {label:>3} (biggest tenant): metrics_summary {ours:7.2f} ms kept / {cold:7.2f} ms computed, median of "
              f"{args.calls}   naive raw aggregate {naive:8.2f} ms   (NPS n={ours_result['nps']['n']:,})")
    if args.explain:
        explain_month(worlds)
    engine_state = stored_fingerprint(owner)
    # From the same empty tables as the engine's build (deleting and re-inserting the same keys would
    # also make every unique check visit the dead rows).
    owner.run(f"TRUNCATE {rollups.CELLS}, {rollups.ROLLUPS}, {rollups.TRANSITIONS}, metrics_rolluprun")
    proposed_s, proposed_timer = proposed_build(worlds)
    same = stored_fingerprint(owner) == engine_state
    out["proposed"] = proposed_s
    print(f"  proposed set-based rebuild (see proposed_build) {proposed_s:7.2f} s   identical rows to the engine's: {'yes' if same else 'NO'}")
    for kind, seconds in sorted(proposed_timer.seconds.items(), key=lambda kv: -kv[1]):
        print(f"      {kind:<42} {seconds:7.2f} s  {proposed_timer.calls[kind]:>6} statements")
    assert same, "the proposed rebuild stored different rows"
    return out


def report(results: list[dict]) -> None:
    base = results[0]
    print("\n== Ratios (issue 6 targets), measured in this run")
    print(f"{'ratio':<72} {'target':>8} {'measured':>9}  ok")
    for large in results[1:]:
        n = f"{large['n']:,}"
        rows = []
        for label in ("90d", "1y"):
            ratio = large[f"cold_{label}"] / base[f"cold_{label}"]
            rows.append((f"summary latency {label}: {n} ÷ {base['n']:,} (computed)", "≤ 1.3", ratio, 1.3, "le"))
        for label in ("90d", "1y"):
            ratio = large[f"naive_{label}"] / large[f"summary_{label}"]
            rows.append((f"naive raw aggregate ÷ metrics_summary {label}, at {n}", "≥ 50", ratio, 50, "ge"))
        for label in ("90d", "1y"):
            ratio = large[f"naive_{label}"] / large[f"cold_{label}"]
            rows.append((f"  the same, rollups changed since the last read (computed) {label}", "—", ratio, None, ""))
        rows.append((f"rollup build ÷ bare cells INSERT…SELECT…GROUP BY, at {n}", "≤ 1.5", large["build"] / large["bare_cells"], 1.5, "le"))
        rows.append((f"rollup build ÷ bare tenant×day total GROUP BY, at {n} (honesty)", "—", large["build"] / large["bare_totals"], None, ""))
        rows.append((f"proposed set-based rebuild ÷ bare cells GROUP BY, at {n}", "≤ 1.5", large["proposed"] / large["bare_cells"], 1.5, "le"))
        for label, target, value, bound, how in rows:
            ok = "" if bound is None else ("yes" if (value <= bound if how == "le" else value >= bound) else "NO")
            print(f"{label:<72} {target:>8} {value:9.2f}  {ok}")
    print("\n== Absolute timings")
    print(f"{'N':>12} {'COPY s':>8} {'bare cells s':>13} {'bare total s':>13} {'build s':>9} {'proposed s':>11} {'sum 90d ms':>11} "
          f"{'sum 1y ms':>10} {'cold 90d ms':>12} {'cold 1y ms':>11} {'naive 90d ms':>13} {'naive 1y ms':>12} {'biggest':>9}")
    for r in results:
        print(f"{r['n']:>12,} {r['copy']:>8.1f} {r['bare_cells']:>13.2f} {r['bare_totals']:>13.2f} {r['build']:>9.2f} {r['proposed']:>11.2f} "
              f"{r['summary_90d']:>11.2f} "
              f"{r['summary_1y']:>10.2f} {r['cold_90d']:>12.2f} {r['cold_1y']:>11.2f} {r['naive_90d']:>13.2f} {r['naive_1y']:>12.2f} "
              f"{r['biggest_n']:>9,}")
    print(f"peak RSS of the bench process: {rss_mb():,.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated response counts (the first is the baseline)")
    parser.add_argument("--huge", action="store_true", help="add 10,000,000 responses")
    parser.add_argument("--calls", type=int, default=200, help="summary calls per median")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one rebuild month of the biggest tenant, per size")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.huge:
        sizes.append(10_000_000)
    if len(sizes) < 2:
        parser.error("give at least two sizes: the baseline and a large one")
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    summary_function()  # fail now, not after loading, when the selector is missing
    owner_settings = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    bench_settings = {**owner_settings, "NAME": connection.settings_dict["NAME"]}
    owner = None
    try:
        owner = Owner(bench_settings)
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        start = time.perf_counter()
        worlds = make_world(max(sizes), random.Random(args.seed))
        print(f"world: {TENANTS} tenants, {sum(len(w.clients) for w in worlds):,} clients in {time.perf_counter() - start:.1f} s; "
              f"Postgres {owner.run('SHOW server_version')[0][0]}, shared_buffers {owner.run('SHOW shared_buffers')[0][0]}, "
              f"work_mem {owner.run('SHOW work_mem')[0][0]}")
        results = [measure(owner, worlds, n, args) for n in sizes]
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
