"""Which tenants have work due: how a beat tick wakes only them (one indexed query), at any number of tenants.

Row-level security keeps one query from reading every tenant's outbox, invitations or webhook rows, and
polling every tenant each minute would queue ~10,000 mostly idle tasks per tick. Instead each writer of
due work *notes* the time it falls due in `TenantDue` (a global table of tenant ids, kind names and times),
the tick *claims* the rows due now and queues one task per claimed tenant, and the task *settles* the row
with the next due time it sees in its own tenant's rows.

The protocol, and why no work is ever left asleep:

- **note** (`due_note`), after the writer's transaction commits (so its rows are visible before the note
  is): lower `due_at` to the note's time if it is earlier (or nothing was noted), and always bump `version`.
  The notes of one transaction are written once, in one statement.
- **claim** (`due_claim`, the tick): one statement sets the `due_at` of every row due now to now + a lease
  and returns their tenants. A task that never settles (worker killed, broker message lost) is woken again
  when the lease runs out.
- **settle** (`due_settle`, the task): the task reads `version` before it looks at its rows and, when done,
  writes the next due time it found (null: nothing pending) only if `version` has not moved. A note that
  arrived meanwhile moved it: then the row keeps the lower of the note's time and the lease, and the work
  that note announced is picked up then — never lost, at worst one extra wake-up.

`due_note_every_tenant` marks every active tenant due at once (one statement, no tasks): the daily sweep
that also covers a note lost to a database failure in the instant after a commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.tenancy.models import Tenant, TenantDue

# How long a claimed tenant waits before it is woken again when its task never settles.
DUE_LEASE = timedelta(minutes=10)
TABLE = TenantDue._meta.db_table


class _Notes(dict):
    """The notes of one transaction, {(tenant_id, kind): time}, written in one statement once it commits."""

    written = False

    def __call__(self) -> None:
        self.written = True
        _write(self)


def _pending_notes() -> _Notes:
    for _savepoints, hook, _robust in connection.run_on_commit:
        if isinstance(hook, _Notes) and not hook.written:  # (tests run hooks early, leaving them in the list)
            return hook
    notes = _Notes()
    transaction.on_commit(notes, robust=True)  # a failure is logged; the daily sweep covers the lost note
    return notes


def due_note(tenant_id: int, kind: str, at: datetime | None = None) -> None:
    """Work of `kind` falls due in `tenant_id` at `at` (default now): the beat wakes the tenant then.

    Call it where the work is written; the note is written after the transaction commits (at once outside
    one). Cheap to call often: a transaction's notes are merged, one statement at commit."""
    at = at or timezone.now()
    if not connection.in_atomic_block:
        _write({(tenant_id, kind): at})
        return
    notes = _pending_notes()
    key = (tenant_id, kind)
    if key not in notes or at < notes[key]:
        notes[key] = at


def _adapt(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _write(notes: dict) -> None:
    if not notes:
        return
    rows = sorted(notes.items())  # a fixed order: two committers never lock the same rows in opposite orders
    values = ", ".join(["(%s, %s, %s, 1)"] * len(rows))
    params = [p for (tenant_id, kind), at in rows for p in (tenant_id, kind, _adapt(at))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (tenant_id, kind, due_at, version) VALUES {values} "
            f"ON CONFLICT (tenant_id, kind) DO UPDATE SET version = {TABLE}.version + 1, due_at = CASE "
            f"WHEN {TABLE}.due_at IS NULL OR {TABLE}.due_at > excluded.due_at THEN excluded.due_at ELSE {TABLE}.due_at END",
            params)


def due_claim(kind: str, *, now: datetime | None = None, lease: timedelta = DUE_LEASE) -> list[int]:
    """The tenants with `kind` work due now, each claimed until now + `lease` (one statement, indexed by
    kind and time). Run it in the transaction that queues their tasks on commit."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET due_at = %s WHERE kind = %s AND due_at <= %s RETURNING tenant_id",
                       [_adapt(now + lease), kind, _adapt(now)])
        return sorted(row[0] for row in cursor.fetchall())


def due_version(tenant_id: int, kind: str) -> int | None:
    """Read before a task looks at its rows; hand it to `due_settle` afterwards."""
    return TenantDue.objects.filter(tenant_id=tenant_id, kind=kind).values_list("version", flat=True).first()


def due_settle(tenant_id: int, kind: str, version: int | None, next_at: datetime | None) -> bool:
    """After a run: work of `kind` is next due at `next_at` (None: nothing pending). Applies only when no
    note arrived since `version` was read (the row then keeps its earlier time). Returns whether it applied."""
    if version is None:
        return False
    return TenantDue.objects.filter(tenant_id=tenant_id, kind=kind, version=version).update(due_at=next_at) == 1


def due_note_every_tenant(kinds: list[str] | tuple[str, ...], *, at: datetime | None = None) -> int:
    """Mark every active tenant due for each of `kinds` (one statement; the next ticks wake them all)."""
    at = _adapt(at or timezone.now())
    tenants = Tenant._meta.db_table
    total = 0
    with connection.cursor() as cursor:
        for kind in kinds:
            cursor.execute(
                f"INSERT INTO {TABLE} (tenant_id, kind, due_at, version) SELECT id, %s, %s, 1 FROM {tenants} WHERE is_active "
                f"ON CONFLICT (tenant_id, kind) DO UPDATE SET version = {TABLE}.version + 1, due_at = CASE "
                f"WHEN {TABLE}.due_at IS NULL OR {TABLE}.due_at > excluded.due_at THEN excluded.due_at ELSE {TABLE}.due_at END",
                [kind, at])
            total += cursor.rowcount
    return total
