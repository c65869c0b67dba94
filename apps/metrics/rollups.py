"""The rollup engine (issue 6 items 1–3; METRICS.md "Rollups").

What it stores: sufficient statistics of counted responses (submitted, not bot-flagged) per tenant ×
local day (`Response.local_day`, the submission date in the tenant's time zone) as

- **cells** — one row per full attribution (survey, touchpoint, stage, journey, segment, staff
  member, channel), built straight from the response rows by one `INSERT … SELECT … GROUP BY`;
- **rollups** — one row per dimension value (and the tenant total), summed from the cells;
- **month rollups** — the rollups of each calendar month summed (read for the whole months of a long
  period), rewritten from the day rollups whenever a day of the month is refreshed;
- **transitions** — interaction volatility's statistics per journey and stage transition.

How it stays right:

- **One way to compute a day.** `rollups_refresh_days` deletes the stored rows of the given days and
  recomputes them from the source rows, then rewrites their months' rows from the day rollups (holding
  the lock of every day of those months). Running it twice leaves the same state as once (idempotent).
- **One way to add a response.** A submitted response adds its contribution in its own transaction
  (`rollups_add_response`: one cell, eight rollups and their months, at most one transition, under the same locks as a
  refresh), so its cost does not grow with the day's volume or the client's history; one that reorders
  its client's journey (a late submission) queues a refresh of the days instead.
- **Concurrency.** A refresh holds a transaction-level lock on each (tenant, day) and a
  shared lock on the tenant (row locks of `apps.tenancy.locks`, which hold across a Citus cluster);
  a rebuild holds the tenant lock exclusively; a response adding itself holds both as a refresh does.
  Refreshes and additions of one day are therefore serial, and each refresh reads (READ COMMITTED, after
  taking its lock) every response committed before it began: a response either committed before the
  refresh read (and is recomputed with it) or adds itself after the refresh committed — no increment
  can be lost or counted twice.
- **Kept reads.** Every writer writes a new rollup version for the tenant in its transaction, right after the
  tenant lock (`_lock_tenant`): answers kept by apps.metrics.readcache are served only at the version they were
  computed at, so a read after any commit here computes afresh.
- **Reconciliation.** `rollups_reconcile` recomputes everything from the response rows (the same SQL,
  without writing), compares it with every stored row, repairs the days that differ and logs the run
  (`RollupRun`). `rollups_rebuild` replaces everything, month by month, with a progress callback.

The SQL is portable (Postgres in production and CI, SQLite for the zero-setup demo): plain GROUP BY,
CASE, COALESCE and window functions only. Every statement names the tenant, and row-level security
limits the app role to the active tenant in any case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.metrics import readcache
from apps.metrics.buckets import Bucket
from apps.metrics.models import STAT_FIELDS, Dimension, MonthRollup, ResponseCell, ResponseRollup, RollupRun, TransitionRollup
from apps.metrics.sources import CELL_COLUMN, month_days, month_start, rollup_key
from apps.surveys.models import Response
from apps.surveys.responses.sequences import SCORE_SIXTHS, SCORED, SEQUENCE
from apps.tenancy.context import tenant_context
from apps.tenancy.locks import tenant_locks
from apps.tenancy.models import Tenant

RESPONSES = Response._meta.db_table
CELLS = ResponseCell._meta.db_table
ROLLUPS = ResponseRollup._meta.db_table
MONTHS = MonthRollup._meta.db_table
TRANSITIONS = TransitionRollup._meta.db_table

CELL_KEY = ("day", "survey_id", "touchpoint_id", "stage_id", "journey_id", "segment_id", "staff_id", "channel")
ROLLUP_KEY = ("day", "dimension", "key")
MONTH_KEY = ("month", "dimension", "key")
TRANSITION_KEY = ("day", "journey_id", "from_stage_id", "to_stage_id")
TRANSITION_STATS = ("n", "abs_sum", "sq_sum")

# --- SQL ---------------------------------------------------------------------------------------
# How one response contributes to each statistic (mirrors apps.metrics.buckets.Bucket.of_response;
# the tests hold the two to each other). Skipped answers (NULL) add nothing to that metric's n.

_PAIR = "predicted IS NOT NULL AND nps IS NOT NULL"
_CELL_STATS_SQL = {
    "responses": "COUNT(*)",
    "nps_n": "COUNT(nps)",
    "nps_promoters": "SUM(CASE WHEN nps >= 9 THEN 1 ELSE 0 END)",
    "nps_passives": "SUM(CASE WHEN nps BETWEEN 7 AND 8 THEN 1 ELSE 0 END)",
    "nps_detractors": "SUM(CASE WHEN nps <= 6 THEN 1 ELSE 0 END)",
    "csat_n": "COUNT(csat)",
    "csat_top2": "SUM(CASE WHEN csat >= 4 THEN 1 ELSE 0 END)",
    "csat_bottom2": "SUM(CASE WHEN csat <= 2 THEN 1 ELSE 0 END)",
    "csat_sum": "COALESCE(SUM(CAST(csat AS BIGINT)), 0)",
    "csat_sumsq": "COALESCE(SUM(CAST(csat AS BIGINT) * csat), 0)",
    "ces_n": "COUNT(ces)",
    "ces_sum": "COALESCE(SUM(CAST(ces AS BIGINT)), 0)",
    "ces_sumsq": "COALESCE(SUM(CAST(ces AS BIGINT) * ces), 0)",
    "ces_easy": "SUM(CASE WHEN ces >= 5 THEN 1 ELSE 0 END)",
    "smiley_n": "COUNT(smiley)",
    "smiley_happy": "SUM(CASE WHEN smiley = 3 THEN 1 ELSE 0 END)",
    "smiley_neutral": "SUM(CASE WHEN smiley = 2 THEN 1 ELSE 0 END)",
    "smiley_sad": "SUM(CASE WHEN smiley = 1 THEN 1 ELSE 0 END)",
    "enps_n": "COUNT(enps)",
    "enps_promoters": "SUM(CASE WHEN enps >= 9 THEN 1 ELSE 0 END)",
    "enps_passives": "SUM(CASE WHEN enps BETWEEN 7 AND 8 THEN 1 ELSE 0 END)",
    "enps_detractors": "SUM(CASE WHEN enps <= 6 THEN 1 ELSE 0 END)",
    "gap_n": f"SUM(CASE WHEN {_PAIR} THEN 1 ELSE 0 END)",
    "gap_sum": f"COALESCE(SUM(CASE WHEN {_PAIR} THEN CAST(predicted AS BIGINT) - nps END), 0)",
    "gap_sumsq": f"COALESCE(SUM(CASE WHEN {_PAIR} THEN (CAST(predicted AS BIGINT) - nps) * (CAST(predicted AS BIGINT) - nps) END), 0)",
    "gap_pred_promoters": f"SUM(CASE WHEN {_PAIR} AND predicted >= 9 THEN 1 ELSE 0 END)",
    "gap_pred_detractors": f"SUM(CASE WHEN {_PAIR} AND predicted <= 6 THEN 1 ELSE 0 END)",
    "gap_promoters": f"SUM(CASE WHEN {_PAIR} AND nps >= 9 THEN 1 ELSE 0 END)",
    "gap_detractors": f"SUM(CASE WHEN {_PAIR} AND nps <= 6 THEN 1 ELSE 0 END)",
}
assert tuple(_CELL_STATS_SQL) == STAT_FIELDS

_CELL_DIMENSIONS_SQL = {
    "day": "local_day",
    "survey_id": "survey_id",
    "touchpoint_id": "COALESCE(touchpoint_id, 0)",
    "stage_id": "COALESCE(stage_id, 0)",
    "journey_id": "COALESCE(journey_id, 0)",
    "segment_id": "COALESCE(segment_id, 0)",
    "staff_id": "COALESCE(staff_id, 0)",
    "channel": "channel",
}
assert tuple(_CELL_DIMENSIONS_SQL) == CELL_KEY

# Parameters of every SELECT below: (tenant_id, first_day, last_day).
CELLS_SELECT = (
    "SELECT tenant_id, "
    + ", ".join(f"{sql} AS {name}" for name, sql in _CELL_DIMENSIONS_SQL.items()) + ", "
    + ", ".join(f"{sql} AS {name}" for name, sql in _CELL_STATS_SQL.items())
    + f" FROM {RESPONSES} WHERE tenant_id = %s AND NOT is_bot AND local_day BETWEEN %s AND %s"
    + " GROUP BY tenant_id, " + ", ".join(_CELL_DIMENSIONS_SQL.values())
)

# A dimension's value as stored in ResponseRollup.key: the id as text, "" for none (and the total).
_ROLLUP_KEY_SQL = {
    Dimension.TOTAL: "''",
    Dimension.SURVEY: "CAST(survey_id AS VARCHAR(32))",
    Dimension.TOUCHPOINT: "CASE WHEN touchpoint_id = 0 THEN '' ELSE CAST(touchpoint_id AS VARCHAR(32)) END",
    Dimension.STAGE: "CASE WHEN stage_id = 0 THEN '' ELSE CAST(stage_id AS VARCHAR(32)) END",
    Dimension.JOURNEY: "CASE WHEN journey_id = 0 THEN '' ELSE CAST(journey_id AS VARCHAR(32)) END",
    Dimension.SEGMENT: "CASE WHEN segment_id = 0 THEN '' ELSE CAST(segment_id AS VARCHAR(32)) END",
    Dimension.STAFF: "CASE WHEN staff_id = 0 THEN '' ELSE CAST(staff_id AS VARCHAR(32)) END",
    Dimension.CHANNEL: "channel",
}
assert set(_ROLLUP_KEY_SQL) == set(Dimension)


def _rollups_select(source: str) -> str:
    """Every dimension's rollup rows summed from cells (`source`: the stored cell table, or the
    cells SELECT as a subquery when computing what the stored rows must equal)."""
    sums = ", ".join(f"SUM({name}) AS {name}" for name in STAT_FIELDS)
    parts = [
        f"SELECT tenant_id, day, '{dimension.value}' AS dimension, {key} AS {connection.ops.quote_name('key')}, {sums} "
        f"FROM {source} WHERE tenant_id = %s AND day BETWEEN %s AND %s GROUP BY tenant_id, day"
        + ("" if dimension == Dimension.TOTAL else f", {key}")
        for dimension, key in _ROLLUP_KEY_SQL.items()
    ]
    return " UNION ALL ".join(parts)


def _month_of(column: str) -> str:
    """The first day of `column`'s calendar month, in this database's SQL."""
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def _months_select() -> str:
    """The month rollups summed from the stored day rollups. Parameters: (tenant_id, first_day, last_day),
    whole months."""
    key = connection.ops.quote_name("key")
    sums = ", ".join(f"SUM({name}) AS {name}" for name in STAT_FIELDS)
    return (f"SELECT tenant_id, {_month_of('day')} AS month, dimension, {key}, {sums} FROM {ROLLUPS} "
            f"WHERE tenant_id = %s AND day BETWEEN %s AND %s GROUP BY tenant_id, {_month_of('day')}, dimension, {key}")


# Interaction volatility: a client's scored responses within one journey, in time order; each
# consecutive pair is a transition dated on the later response's day. Scores in sixths of a point
# (METRICS.md rescaling to 0–100, times 6 so every sum is an exact integer). A response's score is
# its NPS answer, else CSAT, else CES, else smiley (the first scored metric it carries).
# Parameters: (tenant_id, tenant_id, first_day, last_day, first_day, last_day).
TRANSITIONS_SELECT = f"""
SELECT tenant_id, local_day AS day, journey_id, COALESCE(prev_stage, 0) AS from_stage_id, COALESCE(stage_id, 0) AS to_stage_id,
       COUNT(*) AS n, SUM(ABS(score - prev_score)) AS abs_sum, SUM((score - prev_score) * (score - prev_score)) AS sq_sum
FROM (
    SELECT tenant_id, local_day, journey_id, stage_id, score,
           LAG(score) OVER w AS prev_score, LAG(stage_id) OVER w AS prev_stage
    FROM (
        SELECT tenant_id, id, client_id, journey_id, stage_id, local_day, submitted_at, {SCORE_SIXTHS} AS score
        FROM {RESPONSES}
        WHERE tenant_id = %s AND NOT is_bot AND client_id IS NOT NULL AND journey_id IS NOT NULL
          AND {SCORED}
          AND client_id IN (SELECT client_id FROM {RESPONSES} WHERE tenant_id = %s AND local_day BETWEEN %s AND %s
                            AND client_id IS NOT NULL AND journey_id IS NOT NULL)
    ) scored
    WINDOW w AS ({SEQUENCE})
) seq
WHERE prev_score IS NOT NULL AND local_day BETWEEN %s AND %s
GROUP BY tenant_id, local_day, journey_id, COALESCE(prev_stage, 0), COALESCE(stage_id, 0)
"""

_CELL_COLUMNS = ("tenant_id", *CELL_KEY, *STAT_FIELDS)
_ROLLUP_COLUMNS = ("tenant_id", *ROLLUP_KEY, *STAT_FIELDS)
_MONTH_COLUMNS = ("tenant_id", *MONTH_KEY, *STAT_FIELDS)
_TRANSITION_COLUMNS = ("tenant_id", *TRANSITION_KEY, *TRANSITION_STATS)


def _columns(names) -> str:
    return ", ".join(connection.ops.quote_name(n) for n in names)


def _params(tenant: Tenant, first: date, last: date, select: str) -> list:
    if select is TRANSITIONS_SELECT:
        return [tenant.pk, tenant.pk, first, last, first, last]
    if select is CELLS_SELECT:
        return [tenant.pk, first, last]
    return [tenant.pk, first, last] * len(_ROLLUP_KEY_SQL)


# --- locks -------------------------------------------------------------------------------------
# Row locks of the tenant (apps.tenancy.locks), not advisory locks: they hold across every node of a
# Citus cluster, on the worker that holds the tenant's shard.

def _lock_tenant(tenant: Tenant, *, exclusive: bool) -> None:
    """The tenant's rollup lock, then a new rollup version (apps.metrics.readcache): every caller writes rollups in
    this transaction. The version row is locked before any day (and held to the end), in every writer alike, so two
    writers never wait for each other's days while holding it."""
    tenant_locks(["rollups"], shared=not exclusive)
    readcache.bump(tenant.pk)


def _lock_days(tenant: Tenant, days: list[date]) -> None:
    """Exclusive (tenant, day) locks, taken in sorted order (no deadlock between two refreshes)."""
    tenant_locks(f"rollups:{day.isoformat()}" for day in days)


# --- writing -----------------------------------------------------------------------------------

def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into inclusive ranges: [d1, d2, d3, d7] → [(d1, d3), (d7, d7)]."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _insert(cursor, table: str, columns, select: str, params: list) -> None:
    """`INSERT INTO table (columns) SELECT * FROM (select) AS computed`. The derived table is not
    decoration: Citus 13.2 maps the columns of an `INSERT … SELECT … UNION ALL …` to the target's
    physical column order instead of the listed one ("column nps_n is of type integer but expression is
    of type date"); a plain SELECT over the union is mapped right, on SQLite and Postgres alike."""
    cursor.execute(f"INSERT INTO {table} ({_columns(columns)}) SELECT * FROM ({select}) AS computed", params)


def _write_range(tenant: Tenant, first: date, last: date) -> None:
    """Replace the stored cells, rollups and transitions of first..last with fresh ones (then call `_write_months`).
    Call with locks held."""
    ResponseCell.objects.filter(day__range=(first, last)).delete()
    ResponseRollup.objects.filter(day__range=(first, last)).delete()
    TransitionRollup.objects.filter(day__range=(first, last)).delete()
    rollups = _rollups_select(CELLS)
    with connection.cursor() as cursor:
        _insert(cursor, CELLS, _CELL_COLUMNS, CELLS_SELECT, _params(tenant, first, last, CELLS_SELECT))
        _insert(cursor, ROLLUPS, _ROLLUP_COLUMNS, rollups, _params(tenant, first, last, rollups))
        _insert(cursor, TRANSITIONS, _TRANSITION_COLUMNS, TRANSITIONS_SELECT, _params(tenant, first, last, TRANSITIONS_SELECT))


def _write_months(tenant: Tenant, months: Iterable[date]) -> None:
    """Replace the month rollups of `months` (any day of each) with the sums of their stored day rollups. Call with
    the locks of every day of those months held (a response adding itself to any of them changes its month's
    rows), or the tenant's exclusively."""
    for month in sorted({month_start(m) for m in months}):
        last = month_days(month)[-1]
        MonthRollup.objects.filter(month=month).delete()
        with connection.cursor() as cursor:
            _insert(cursor, MONTHS, _MONTH_COLUMNS, _months_select(), [tenant.pk, month, last])


def rollups_refresh_days(tenant: Tenant, days: Iterable[date], *, months: Iterable[date] = ()) -> None:
    """Recompute the stored rows of `days` (tenant-local dates) from the response rows, then the month rollups of
    their months and of `months` (any day of each) from the day rollups. Idempotent; concurrent refreshes and
    additions of a month are serialised (module docstring)."""
    days = sorted(set(days))
    months = sorted({month_start(d) for d in (*days, *months)})
    if not months:
        return
    with tenant_context(tenant):
        _lock_tenant(tenant, exclusive=False)
        # Every day of the months, in one sorted set: a response adding itself to any day changes its month's rows.
        _lock_days(tenant, [d for m in months for d in month_days(m)])
        for first, last in day_runs(days):
            _write_range(tenant, first, last)
        _write_months(tenant, months)


# --- one new response: added in its own transaction, a bounded number of rows -------------------------------
# A submitted response adds its contribution to the stored rows in the transaction that writes it: one cell, its
# eight dimension rollups and at most one transition, each `INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`,
# whatever the day's volume or the client's history (issue 18 item 2). Exact against the recomputing paths because
# it holds the same locks: the tenant lock shared and the day's lock. A refresh or rebuild holding them first did
# not see the (uncommitted) response, and the addition lands on its rows after it commits; one waiting for them
# reads the response once this transaction commits and recomputes the day with it, replacing the added rows. Two
# responses of one client in one journey are serialised by a client lock (one of CLIENT_LOCKS per tenant, taken
# before the day's), so the later one to commit sees the other. A response that does not arrive last in its
# client's journey (an earlier submission committed late) changes the transition of the one after it: then
# nothing is added and the caller queues a refresh of both days.

CLIENT_LOCKS = 1024
_NEIGHBOURS = (f"FROM {RESPONSES} WHERE tenant_id = %s AND client_id = %s AND journey_id = %s AND NOT is_bot AND {SCORED} AND ")
# This response (scored) and the one before it in the client's journey; then the first one after it, if any.
_UP_TO = (f"SELECT id, COALESCE(stage_id, 0), {SCORE_SIXTHS} {_NEIGHBOURS}(submitted_at < %s OR (submitted_at = %s AND id <= %s)) "
          "ORDER BY submitted_at DESC, id DESC LIMIT 2")
_AFTER = f"SELECT local_day {_NEIGHBOURS}(submitted_at > %s OR (submitted_at = %s AND id > %s)) ORDER BY submitted_at, id LIMIT 1"


def _upsert(cursor, table: str, columns: tuple[str, ...], key: tuple[str, ...], added: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert `rows`, or add their `added` columns to the stored row with the same key."""
    q = connection.ops.quote_name
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    sums = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in added)
    cursor.execute(f"INSERT INTO {table} ({_columns(columns)}) VALUES {values} ON CONFLICT ({_columns(('tenant_id', *key))}) "
                   f"DO UPDATE SET {sums}", [value for row in rows for value in row])


def _scored_in_journey(response: Response) -> bool:
    return bool(response.client_id and response.journey_id and not response.is_bot
                and any(v is not None for v in (response.nps, response.csat, response.ces, response.smiley)))


def rollups_add_response(tenant: Tenant, response: Response) -> set[date]:
    """Add a just-written counted response to the stored rows, inside its transaction (see above). Returns the
    days to refresh instead when it is not the last of its client's journey (nothing was added then), else none."""
    if response.is_bot:
        return set()
    day = response.local_day
    in_journey = _scored_in_journey(response)
    _lock_tenant(tenant, exclusive=False)
    if in_journey:
        tenant_locks([f"rollups:clients:{response.client_id % CLIENT_LOCKS}"])
    _lock_days(tenant, [day])
    transition = None
    if in_journey:
        with connection.cursor() as cursor:
            neighbours = [tenant.pk, response.client_id, response.journey_id, response.submitted_at, response.submitted_at, response.pk]
            cursor.execute(_UP_TO, neighbours)
            up_to = cursor.fetchall()
            cursor.execute(_AFTER, neighbours)
            after = cursor.fetchone()
        if not up_to or up_to[0][0] != response.pk:
            return {day}  # not the row this transaction wrote (changed since?): recompute the day
        own, *before = up_to
        if after is not None:
            following = after[0] if isinstance(after[0], date) else date.fromisoformat(str(after[0]))
            return {day, following}
        if before:
            (_, from_stage, previous), (_, to_stage, score) = before[0], own
            delta = int(score) - int(previous)
            transition = (tenant.pk, day, response.journey_id, from_stage, to_stage, 1, abs(delta), delta * delta)
    stats = Bucket.of_response(nps=response.nps, csat=response.csat, ces=response.ces, smiley=response.smiley, enps=response.enps,
                               predicted=response.predicted).as_dict()
    values = tuple(stats[f] for f in STAT_FIELDS)
    rollup_rows = [(tenant.pk, day, Dimension.TOTAL.value, "", *values)]
    rollup_rows += [(tenant.pk, day, dimension.value, rollup_key(getattr(response, column)), *values)
                    for dimension, column in CELL_COLUMN.items()]
    cell = (tenant.pk, day, *(getattr(response, column) or 0 for column in CELL_KEY[1:-1]), response.channel, *values)
    month = month_start(day)
    with connection.cursor() as cursor:
        _upsert(cursor, CELLS, _CELL_COLUMNS, CELL_KEY, STAT_FIELDS, [cell])
        _upsert(cursor, ROLLUPS, _ROLLUP_COLUMNS, ROLLUP_KEY, STAT_FIELDS, rollup_rows)
        _upsert(cursor, MONTHS, _MONTH_COLUMNS, MONTH_KEY, STAT_FIELDS, [(row[0], month, *row[2:]) for row in rollup_rows])
        if transition is not None:
            _upsert(cursor, TRANSITIONS, _TRANSITION_COLUMNS, TRANSITION_KEY, TRANSITION_STATS, [transition])
    return set()


def response_affected_days(response: Response) -> set[date]:
    """The days whose stored rows depend on `response`: its own day and, for volatility, the day of the
    same client's next scored response in the same journey (whose transition now starts from this one)."""
    days = {response.local_day}
    if response.client_id and response.journey_id:
        following = (Response.objects.filter(client_id=response.client_id, journey_id=response.journey_id, is_bot=False,
                                             submitted_at__gt=response.submitted_at)
                     .order_by("submitted_at", "id").values_list("local_day", flat=True).first())
        if following is not None:
            days.add(following)
    return days


def imported_affected_days(*, days: Iterable[date], journeys: Iterable[tuple[int, int]], since) -> set[date]:
    """The days whose stored rows depend on a bulk of imported responses: theirs and, for volatility, the days of the
    responses in the same clients' journeys from the earliest imported one on (a superset of the transitions that
    changed: a refresh is exact however many days it recomputes). One query per 500 journeys."""
    affected = set(days)
    pairs = sorted(set(journeys))
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        clients = {c for c, _ in chunk}
        journey_ids = {j for _, j in chunk}
        rows = (Response.objects.filter(client_id__in=clients, journey_id__in=journey_ids, is_bot=False, submitted_at__gte=since)
                .values_list("client_id", "journey_id", "local_day").distinct())
        wanted = set(chunk)
        affected.update(day for client_id, journey_id, day in rows if (client_id, journey_id) in wanted)
    return affected


def _tenant_day_span(tenant: Tenant) -> tuple[date, date] | None:
    """First and last day with any stored or source row."""
    from django.db.models import Max, Min

    spans = [Response.objects.aggregate(first=Min("local_day"), last=Max("local_day"))]
    spans += [model.objects.aggregate(first=Min("day"), last=Max("day")) for model in (ResponseCell, ResponseRollup, TransitionRollup)]
    spans.append(MonthRollup.objects.aggregate(first=Min("month"), last=Max("month")))
    firsts = [s["first"] for s in spans if s["first"]]
    lasts = [s["last"] for s in spans if s["last"]]
    return (min(firsts), max(lasts)) if firsts else None


def months(first: date, last: date) -> list[tuple[date, date]]:
    chunks, start = [], first
    while start <= last:
        next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        chunks.append((start, min(last, next_month - timedelta(days=1))))
        start = next_month
    return chunks


Progress = Callable[[int, int], None]


def rollups_rebuild(tenant: Tenant, *, progress: Progress | None = None) -> RollupRun:
    """Rebuild every stored row of the tenant from the response rows, one month per transaction
    (holding the tenant lock exclusively), calling `progress(done, total)` after each month."""
    with tenant_context(tenant):
        span = _tenant_day_span(tenant)
        run = RollupRun.objects.create(tenant=tenant, kind=RollupRun.Kind.REBUILD, first_day=span and span[0], last_day=span and span[1])
    chunks = months(*span) if span else []
    for done, (first, last) in enumerate(chunks, start=1):
        with tenant_context(tenant):
            _lock_tenant(tenant, exclusive=True)
            _write_range(tenant, first, last)
            _write_months(tenant, [first, last])
        if progress:
            progress(done, len(chunks))
    with tenant_context(tenant):
        run.rows_checked = sum(model.objects.count() for model in (ResponseCell, ResponseRollup, MonthRollup, TransitionRollup))
        run.finished_at = timezone.now()
        run.save(update_fields=["rows_checked", "finished_at", "updated_at"])
    return run


# --- what the stored rows must equal -------------------------------------------------------------

def _fetch(sql: str, params: list, columns: tuple[str, ...]) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        item = dict(zip(columns, row, strict=True))
        item["day"] = item["day"] if isinstance(item["day"], date) else date.fromisoformat(str(item["day"]))
        for name in columns:
            if name not in ("tenant_id", "day", "dimension", "key", "channel"):
                item[name] = int(item[name])
        out.append(item)
    return out


def expected_cells(tenant: Tenant, first: date, last: date) -> list[dict]:
    """The cells of first..last computed straight from the response rows."""
    return _fetch(CELLS_SELECT, _params(tenant, first, last, CELLS_SELECT), _CELL_COLUMNS)


def expected_rollups(tenant: Tenant, first: date, last: date) -> list[dict]:
    """The dimension rollups of first..last computed straight from the response rows."""
    sql = _rollups_select(f"({CELLS_SELECT}) fresh")
    # Each UNION part takes the inner cells' parameters, then its own.
    params = [*_params(tenant, first, last, CELLS_SELECT), tenant.pk, first, last] * len(_ROLLUP_KEY_SQL)
    return _fetch(sql, params, _ROLLUP_COLUMNS)


def expected_months(rollups: list[dict]) -> list[dict]:
    """The month rollups the given (expected) day rollups add up to."""
    out: dict[tuple, dict] = {}
    for row in rollups:
        key = (month_start(row["day"]), row["dimension"], row["key"])
        total = out.get(key)
        if total is None:
            total = out[key] = {"tenant_id": row["tenant_id"], "month": key[0], "dimension": key[1], "key": key[2]} | dict.fromkeys(STAT_FIELDS, 0)
        for name in STAT_FIELDS:
            total[name] += row[name]
    return list(out.values())


def expected_transitions(tenant: Tenant, first: date, last: date) -> list[dict]:
    return _fetch(TRANSITIONS_SELECT, _params(tenant, first, last, TRANSITIONS_SELECT), _TRANSITION_COLUMNS)


def _stored(model, first: date, last: date, columns: tuple[str, ...]) -> list[dict]:
    if model is MonthRollup:
        return list(model.objects.filter(month__range=(month_start(first), month_start(last))).values(*columns))
    return list(model.objects.filter(day__range=(first, last)).values(*columns))


def differing_days(expected: list[dict], stored: list[dict], key: tuple[str, ...]) -> tuple[set[date], int]:
    """(days — or months — with a difference, rows that differ, are missing or are extra); `key` starts with the
    day (the month)."""
    want = {tuple(r[k] for k in key): r for r in expected}
    have = {tuple(r[k] for k in key): r for r in stored}
    days, wrong = set(), 0
    for k in want.keys() | have.keys():
        if want.get(k) != have.get(k):
            wrong += 1
            days.add(k[0])
    return days, wrong


RESUME_WITHIN = timedelta(days=1)  # an unfinished reconciliation younger than this is continued, not restarted


def _reconcile_run(tenant: Tenant) -> RollupRun:
    """The reconciliation to continue (unfinished, started in the last day), else a new one over today's span."""
    with tenant_context(tenant):
        run = (RollupRun.objects.filter(kind=RollupRun.Kind.RECONCILE, finished_at__isnull=True,
                                        created_at__gte=timezone.now() - RESUME_WITHIN).order_by("-created_at").first())
        if run is None:
            span = _tenant_day_span(tenant)
            run = RollupRun.objects.create(tenant=tenant, kind=RollupRun.Kind.RECONCILE, first_day=span and span[0],
                                           last_day=span and span[1])
        return run


def rollups_reconcile(tenant: Tenant, *, max_months: int | None = None) -> RollupRun:
    """Compare every stored cell, rollup and transition with the response rows, month by month; repair the days
    that differ and log what was found (the nightly beat job).

    Chunked and resumable: each month is one transaction that locks the run's row, checks, repairs and records
    its progress (`resume_after`), so a worker killed midway loses at most the month it was in, a second worker
    skips the months the first has done, and the next call continues an unfinished run of the last day rather
    than starting over. With `max_months`, it stops after that many months and returns the run unfinished
    (`finished_at` empty): the task queues itself again to continue."""
    import structlog

    run = _reconcile_run(tenant)
    chunks = months(run.first_day, run.last_day) if run.first_day else []
    done = 0
    for first, last in chunks:
        if run.resume_after is not None and last <= run.resume_after:
            continue
        if max_months is not None and done >= max_months:
            return run
        with tenant_context(tenant):
            run = RollupRun.objects.select_for_update().get(pk=run.pk)
            if run.finished_at is not None or (run.resume_after is not None and last <= run.resume_after):
                continue  # another worker did this month meanwhile
            wrong_days: set[date] = set()
            wrong_months: set[date] = set()
            checked = wrong = 0
            day_rollups = expected_rollups(tenant, first, last)
            for expected, model, columns, key in (
                (expected_cells(tenant, first, last), ResponseCell, _CELL_COLUMNS, CELL_KEY),
                (day_rollups, ResponseRollup, _ROLLUP_COLUMNS, ROLLUP_KEY),
                (expected_transitions(tenant, first, last), TransitionRollup, _TRANSITION_COLUMNS, TRANSITION_KEY),
                (expected_months(day_rollups), MonthRollup, _MONTH_COLUMNS, MONTH_KEY),
            ):
                stored = _stored(model, first, last, columns)
                found, bad = differing_days(expected, stored, key)
                checked += len(stored)
                wrong += bad
                if model is MonthRollup:
                    wrong_months = found  # rewritten from their (repaired) day rows
                else:
                    wrong_days |= found
            rollups_refresh_days(tenant, wrong_days, months=wrong_months)  # in this transaction: repaired and recorded together
            run.rows_checked += checked
            run.rows_wrong += wrong
            run.days_repaired = sorted({*run.days_repaired, *(d.isoformat() for d in wrong_days)})
            run.resume_after = last
            run.save(update_fields=["rows_checked", "rows_wrong", "days_repaired", "resume_after", "updated_at"])
        done += 1
    with tenant_context(tenant):
        run = RollupRun.objects.select_for_update().get(pk=run.pk)
        if run.finished_at is None:
            run.finished_at = timezone.now()
            run.save(update_fields=["finished_at", "updated_at"])
            if run.rows_wrong:
                structlog.get_logger(__name__).warning("rollups_repaired", tenant=tenant.slug, rows_wrong=run.rows_wrong,
                                                       days=run.days_repaired[:20])
    return run


@transaction.atomic
def local_days_rewrite(tenant: Tenant) -> int:
    """After a time-zone change: re-date every response in the new zone (the caller then rebuilds)."""
    from django.db.models.functions import TruncDate

    from apps.core.dates import zone

    with tenant_context(tenant):
        return Response.objects.update(local_day=TruncDate("submitted_at", tzinfo=zone(tenant.time_zone)))
