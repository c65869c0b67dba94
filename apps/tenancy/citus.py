"""Distribution as code on Citus (distributed PostgreSQL): which table becomes what, and doing it.

- a tenant table (it has a `tenant_id` column: every TenantScopedModel, through tables included, and the
  due-work register TenantDue) is
  distributed by `tenant_id`, all of them in one co-location group, so a tenant's rows of every table live
  in the same shard and joins/foreign keys on `(tenant_id, …)` stay inside one node;
- a global table (no `tenant_id`: tenancy_tenant, auth_user, contenttypes, axes, django_migrations, …) becomes
  a reference table: one copy on every node, so tenant tables may keep their foreign keys to it and join it
  locally. Global tables are small and read far more than written; every write goes to every node;
- django_session is a reference table too (the simplest choice, and distributing it by `session_key` would
  buy little): sessions belong to no tenant; a request that does not change its session only reads it, from
  the coordinator's local copy; a login writes to every node anyway (the user's `last_login`), so with a
  worker down logins fail (503) either way. django_migrations also: written by `migrate` only, and every node
  then carries the record of the schema it holds.

Tables are created in foreign-key order (a referenced table first), with
`citus.enable_local_reference_table_foreign_keys = off` so that making a global table a reference table never
silently turns the tables still referencing it into Citus-local tables. A table already in `pg_dist_partition`
is skipped: a second run changes nothing. Tables created by later migrations are plain local tables on the
coordinator until the command runs again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections

TENANT_COLUMN = "tenant_id"
DEFAULT_SHARD_COUNT = 32

# pg_dist_partition.partmethod: 'h' hash-distributed, 'n' reference (or Citus-local when repmodel is 's').
REFERENCE, DISTRIBUTED = "reference", "distributed"


class CitusError(Exception):
    """Some tables could not be distributed; `failures` says which and why."""

    def __init__(self, failures: list[tuple[str, str]]):
        self.failures = failures
        lines = [f"  {table}: {reason}" for table, reason in failures]
        super().__init__(f"{len(failures)} table(s) could not be distributed:\n" + "\n".join(lines))


@dataclass
class TablePlan:
    table: str
    kind: str  # REFERENCE or DISTRIBUTED
    column: str | None  # the distribution column (None for a reference table)
    model: str  # app_label.Model, or "" for a table no model declares (django_migrations)
    current: str = ""  # what pg_dist_partition says today: "", REFERENCE, "distributed(<column>)", "citus local"
    colocation_id: int | None = None
    references: set[str] = field(default_factory=set)
    cycle_references: set[str] = field(default_factory=set)  # foreign keys closing a cycle (see _foreign_key_order)

    @property
    def done(self) -> bool:
        if self.kind == REFERENCE:
            return self.current == REFERENCE
        return self.current == f"distributed({self.column})"


def citus_installed(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        return cursor.fetchone()[0]


def shard_count() -> int:
    return int(getattr(settings, "CITUS_SHARD_COUNT", DEFAULT_SHARD_COUNT))


def _model_names() -> dict[str, str]:
    names = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            names[model._meta.db_table] = model._meta.label
    return names


def plan(using: str = "default") -> list[TablePlan]:
    """Every table of the public schema with what it should become, in foreign-key order."""
    connection = connections[using]
    models = _model_names()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname,
                   EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY c.relname
            """,
            [TENANT_COLUMN],
        )
        tables = {name: has_tenant for name, has_tenant in cursor.fetchall()}
        cursor.execute(
            """
            SELECT DISTINCT src.relname, dst.relname
            FROM pg_constraint con
            JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class dst ON dst.oid = con.confrelid
            JOIN pg_namespace n ON n.oid = src.relnamespace
            WHERE con.contype = 'f' AND n.nspname = 'public'
            """
        )
        references: dict[str, set[str]] = {name: set() for name in tables}
        for source, target in cursor.fetchall():
            if source in references and source != target:
                references[source].add(target)
        cursor.execute(
            """
            SELECT c.relname, p.partmethod, p.repmodel, a.attname, p.colocationid
            FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
            LEFT JOIN pg_attribute a ON a.attrelid = p.logicalrelid
                 AND a.attname = column_to_column_name(p.logicalrelid, p.partkey)
            """
        )
        current = {}
        for name, method, repmodel, column, colocation_id in cursor.fetchall():
            if method == "h":
                current[name] = (f"distributed({column})", colocation_id)
            elif method == "n" and repmodel == "t":
                current[name] = (REFERENCE, colocation_id)
            else:
                current[name] = ("citus local" if method == "n" else f"partmethod {method}", colocation_id)
    plans = {}
    for name, has_tenant in tables.items():
        if has_tenant:
            kind, column = DISTRIBUTED, TENANT_COLUMN
        else:
            kind, column = REFERENCE, None
        state, colocation_id = current.get(name, ("", None))
        plans[name] = TablePlan(name, kind, column, models.get(name, ""), state, colocation_id, references[name])
    return _foreign_key_order(plans)


def _foreign_key_order(plans: dict[str, TablePlan]) -> list[TablePlan]:
    """Referenced tables first (depth-first); global tables before tenant tables where the keys allow it.
    A foreign key that closes a cycle (surveys_survey.current_version ↔ surveys_surveyversion.survey) is
    noted in the source table's `cycle_references`: `distribute()` lifts it while the cycle is distributed."""
    ordered: list[TablePlan] = []
    state: dict[str, str] = {}

    def visit(name: str) -> None:
        state[name] = "visiting"
        for target in sorted(plans[name].references):
            if target not in plans:
                continue
            if state.get(target) == "visiting":
                plans[name].cycle_references.add(target)
            elif not state.get(target):
                visit(target)
        state[name] = "done"
        ordered.append(plans[name])

    for name in sorted(plans, key=lambda n: (plans[n].kind != REFERENCE, n)):
        if not state.get(name):
            visit(name)
    return ordered


def _lift_cycle_foreign_keys(cursor, plans: list[TablePlan], quote) -> list[tuple[str, str, str]]:
    """Drop the foreign keys that close a cycle between tables still to distribute (Citus cannot distribute
    a table whose referenced table is still local); returns (table, name, definition) to add back."""
    lifted = []
    todo = {p.table for p in plans if not p.done}
    for item in plans:
        for target in sorted(item.cycle_references):
            if item.table not in todo or target not in todo:
                continue
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = %s::regclass AND confrelid = %s::regclass ORDER BY conname",
                [quote(item.table), quote(target)],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {quote(item.table)} DROP CONSTRAINT {quote(name)}")
                lifted.append((item.table, name, definition))
    return lifted


def distribute(using: str = "default", count: int | None = None, report=print) -> list[TablePlan]:
    """Make every table what `plan()` says, skipping those already done; raise CitusError listing every
    table that failed (each with Citus's own message), after trying them all."""
    connection = connections[using]
    count = count or shard_count()
    plans = plan(using)
    failures: list[tuple[str, str]] = []
    failed: set[str] = set()
    done = [p for p in plans if p.kind == DISTRIBUTED and p.done]
    anchor = min(done, key=lambda p: p.colocation_id).table if done else None  # the tenant co-location group
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SET citus.enable_local_reference_table_foreign_keys = off")
        lifted = _lift_cycle_foreign_keys(cursor, plans, quote)
        for item in plans:
            if item.done:
                continue
            if item.current:
                failures.append((item.table, f"already {item.current} in Citus, expected {item.kind}; undistribute it first"))
                failed.add(item.table)
                continue
            blocked = sorted((item.references - item.cycle_references) & failed)
            if blocked:
                failures.append((item.table, f"references table(s) that failed: {', '.join(blocked)}"))
                failed.add(item.table)
                continue
            try:
                # Each call in its own transaction (autocommit): one failure leaves the others done.
                if item.kind == REFERENCE:
                    cursor.execute("SELECT create_reference_table(%s)", [quote(item.table)])
                elif anchor is None:
                    cursor.execute(
                        "SELECT create_distributed_table(%s, %s, colocate_with => 'none', shard_count => %s)",
                        [quote(item.table), item.column, count],
                    )
                    anchor = item.table
                else:
                    cursor.execute(
                        "SELECT create_distributed_table(%s, %s, colocate_with => %s)",
                        [quote(item.table), item.column, quote(anchor)],
                    )
            except DatabaseError as exc:
                failures.append((item.table, _message(exc)))
                failed.add(item.table)
                continue
            report(f"{item.table}: {item.kind}" + (f" by {item.column}" if item.column else ""))
        for table, name, definition in lifted:
            # Both tables are distributed (co-located) or one failed: the key goes back either way.
            try:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
            except DatabaseError as exc:
                failures.append((table, f"could not restore foreign key {name} ({definition}): {_message(exc)}"))
        cursor.execute("RESET citus.enable_local_reference_table_foreign_keys")
    result = plan(using)
    failures += _not_colocated(result)
    if failures:
        raise CitusError(failures)
    return result


def _not_colocated(plans: list[TablePlan]) -> list[tuple[str, str]]:
    """Tenant tables distributed outside the co-location group of the first one (e.g. by hand)."""
    distributed = [p for p in plans if p.kind == DISTRIBUTED and p.done]
    if not distributed:
        return []
    anchor = min(distributed, key=lambda p: p.colocation_id)
    return [(p.table, f"distributed by tenant_id but not co-located with {anchor.table} (co-location group "
                      f"{p.colocation_id}, not {anchor.colocation_id}): undistribute it and run again")
            for p in distributed if p.colocation_id != anchor.colocation_id]


def _message(exc: Exception) -> str:
    return " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())


def check_table(plans: list[TablePlan]) -> str:
    """The plan as a text table: table, model, target, current state, co-location group."""
    rows = [("table", "model", "target", "now", "colocation")]
    for item in plans:
        target = item.kind + (f"({item.column})" if item.column else "")
        now = item.current or "local"
        rows.append((item.table, item.model or "-", target, now + ("" if item.done else "  <- to do"),
                     "" if item.colocation_id is None else str(item.colocation_id)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows)
