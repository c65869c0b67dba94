"""Tenant keys: what lets every tenant table be distributed by `tenant_id` (Citus) and joined on it.

The rule (issue 17, checked against the catalog by tests/test_tenant_keys.py):

- every tenant table's primary key is `(tenant_id, id)`; every unique index includes `tenant_id`;
- every foreign key between two tenant tables is composite: `(tenant_id, x_id) → (tenant_id, id)`;
  foreign keys to global tables (tenant, user) stay single-column;
- every join between two tenant tables matches on `tenant_id` as well as the key, and an update never
  writes `tenant_id` (TenantScopedModel._do_update).

Two pieces give a model all of this:

- `TenantForeignKey` instead of `models.ForeignKey` between tenant models (a Django system check,
  `tenancy.E001`, fails on a plain one). Its joins carry `tenant_id` (`get_extra_restriction`, the hook
  Citus's own django-multitenant uses) and `row.client` is fetched with the row's tenant. Django creates
  no single-column constraint for it (`db_constraint=False`): the composite one comes from
- `TenantKeys("model")`, a migration operation beside `EnableRLS("model")`: it turns the primary key
  into `(tenant_id, id)` (keeping a plain index on `id` for Django's deletes by id) and adds the
  composite foreign key of every `TenantForeignKey` of the model, creating its target's composite key
  first if that migration has not run yet. It is idempotent: run it again after adding a
  `TenantForeignKey` to an existing model.

On SQLite (the demo) the operation does nothing; the joins work the same.
"""

from __future__ import annotations

from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.models.sql.where import AND, WhereNode

TENANT_COLUMN = "tenant_id"


def is_tenant_model(model) -> bool:
    """Whether `model` is tenant-owned (has the `tenant` foreign key of TenantScopedModel)."""
    try:
        field = model._meta.get_field("tenant")
    except Exception:  # noqa: BLE001 - FieldDoesNotExist and lazy models alike
        return False
    return bool(getattr(field, "is_relation", False)) and field.column == TENANT_COLUMN


class TenantForeignKey(models.ForeignKey):
    """A foreign key from one tenant model to another: joins and lookups match on `tenant_id` too."""

    def __init__(self, *args, **kwargs):
        kwargs["db_constraint"] = False  # the composite constraint comes from TenantKeys
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("db_constraint", None)
        return name, path, args, kwargs

    def get_extra_restriction(self, alias, related_alias):
        """`AND <this table>.tenant_id = <target table>.tenant_id` on every join over this key (forward
        joins call it as (target alias, this alias); reverse joins through the relation swap them)."""
        if not (alias and related_alias):
            return None
        own = self.model._meta.get_field("tenant")
        target = self.related_model._meta.get_field("tenant")
        condition = WhereNode()
        condition.add(own.get_lookup("exact")(own.get_col(related_alias), target.get_col(alias)), AND)
        return condition

    def get_extra_descriptor_filter(self, instance):
        """`row.client` looks the client up in the row's own tenant (one shard, whichever manager)."""
        return {TENANT_COLUMN: instance.tenant_id} if instance.tenant_id is not None else {}


# --- the migration operation ------------------------------------------------------------------------


def _primary_key(cursor, table: str) -> tuple[str, list[str]] | None:
    cursor.execute(
        """
        SELECT con.conname, array_agg(att.attname ORDER BY k.ord)
        FROM pg_constraint con
        CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = k.attnum
        WHERE con.conrelid = %s::regclass AND con.contype = 'p'
        GROUP BY con.conname
        """,
        [table],
    )
    row = cursor.fetchone()
    return (row[0], list(row[1])) if row else None


def _referencing_foreign_keys(cursor, table: str) -> list[tuple[str, str, bool]]:
    """(constraint, referencing table, whether that table is a tenant table) for FKs pointing at `table`."""
    cursor.execute(
        """
        SELECT con.conname, con.conrelid::regclass::text,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid
                       AND a.attname = %s AND NOT a.attisdropped)
        FROM pg_constraint con
        WHERE con.confrelid = %s::regclass AND con.contype = 'f'
        """,
        [TENANT_COLUMN, table],
    )
    return list(cursor.fetchall())


def _constraint_exists(cursor, table: str, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s", [table, name])
    return cursor.fetchone() is not None


def ensure_composite_primary_key(schema_editor, model) -> None:
    """Make `(tenant_id, id)` the primary key of `model`'s table, if it is not already."""
    table = model._meta.db_table
    pk_column = model._meta.pk.column
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        current = _primary_key(cursor, table)
        if current and current[1] == [TENANT_COLUMN, pk_column]:
            return
        for name, referencing, is_tenant in _referencing_foreign_keys(cursor, table):
            if not is_tenant:
                raise ValueError(
                    f"{referencing} (a global table) has a foreign key {name} to the tenant table {table}: "
                    "global tables cannot reference tenant rows."
                )
            # A single-column key from another tenant table; that table's TenantKeys adds the composite one.
            if not name.endswith("_tenant_fk"):
                schema_editor.execute(f"ALTER TABLE {quote(referencing)} DROP CONSTRAINT {quote(name)}")
    if current:
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(current[0])}")
    schema_editor.execute(
        f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(table + '_pkey')} "
        f"PRIMARY KEY ({quote(TENANT_COLUMN)}, {quote(pk_column)})"
    )
    index = schema_editor._create_index_name(table, [pk_column], suffix="_id_lookup")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(index)} ON {quote(table)} ({quote(pk_column)})")


def composite_foreign_key_name(schema_editor, table: str, column: str) -> str:
    return schema_editor._create_index_name(table, [TENANT_COLUMN, column], suffix="_tenant_fk")


def tenant_foreign_keys(model) -> list[TenantForeignKey]:
    return [f for f in model._meta.local_fields if isinstance(f, TenantForeignKey)]


class TenantKeys(Operation):
    """Composite primary key and composite foreign keys for one tenant model (see the module docstring)."""

    reversible = True
    reduces_to_sql = False  # reads the catalog to stay idempotent

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        ensure_composite_primary_key(schema_editor, model)
        quote = schema_editor.quote_name
        table = model._meta.db_table
        for field in tenant_foreign_keys(model):
            target = field.related_model
            ensure_composite_primary_key(schema_editor, target)
            name = composite_foreign_key_name(schema_editor, table, field.column)
            with schema_editor.connection.cursor() as cursor:
                if _constraint_exists(cursor, table, name):
                    continue
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} "
                f"FOREIGN KEY ({quote(TENANT_COLUMN)}, {quote(field.column)}) "
                f"REFERENCES {quote(target._meta.db_table)} ({quote(TENANT_COLUMN)}, {quote(target._meta.pk.column)}) "
                "DEFERRABLE INITIALLY DEFERRED"
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        table = model._meta.db_table
        for field in tenant_foreign_keys(model):
            name = composite_foreign_key_name(schema_editor, table, field.column)
            schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(name)}")
        # Composite keys of other tables pointing here go with the old primary key (their own
        # TenantKeys is being reversed too); the single-column key comes back.
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(table + '_pkey')} CASCADE")
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD PRIMARY KEY ({quote(model._meta.pk.column)})")

    def describe(self):
        return f"Primary key (tenant_id, id) and composite tenant foreign keys on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"tenant_keys_{self.model_name.lower()}"


class NaturalPrimaryKey(Operation):
    """Move a derived tenant table from an `id` key to its natural key, keeping its rows: the model
    declares `pk = models.CompositePrimaryKey("tenant_id", …)` and its migration says
    `NaturalPrimaryKey("responserollup", ("tenant_id", …), replaces="metrics_rollup_key")` (Django cannot
    alter a primary key into a composite one by itself).

    Why: the engine's set-based `INSERT … SELECT` into a table whose key comes from an identity column
    makes Citus pull the rows to the coordinator and COPY them in, which row-level security forbids;
    keyed by its natural key the same statement runs on the workers. Postgres: drops the old key, the
    replaced unique constraint and `id`, adds the composite primary key. SQLite: rebuilds the table and
    copies the rows.
    """

    reversible = True
    reduces_to_sql = False  # reads the catalog to stay idempotent

    def __init__(self, model_name: str, fields: tuple[str, ...] | list[str], replaces: str):
        self.model_name = model_name
        self.fields = tuple(fields)
        self.replaces = replaces

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name, self.fields], {"replaces": self.replaces})

    def _state_operations(self):
        from django.db.migrations import AddField, RemoveConstraint, RemoveField

        return [
            RemoveConstraint(model_name=self.model_name, name=self.replaces),
            RemoveField(model_name=self.model_name, name="id"),
            AddField(model_name=self.model_name, name="pk", field=models.CompositePrimaryKey(
                *self.fields, blank=True, editable=False, primary_key=True, serialize=False)),
        ]

    def state_forwards(self, app_label, state):
        for operation in self._state_operations():
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        old = from_state.apps.get_model(app_label, self.model_name)
        new = to_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql":
            return self._rebuild(schema_editor, old, new)
        table, quote = old._meta.db_table, schema_editor.quote_name
        self._drop_primary_key(schema_editor, table)
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(self.replaces)}")
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP COLUMN IF EXISTS {quote(old._meta.pk.column)}")
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(table + '_pkey')} "
                              f"PRIMARY KEY ({', '.join(quote(f.column) for f in new._meta.pk_fields)})")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        current = from_state.apps.get_model(app_label, self.model_name)
        previous = to_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql":
            return self._rebuild(schema_editor, current, previous)
        table, quote = current._meta.db_table, schema_editor.quote_name
        self._drop_primary_key(schema_editor, table)
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(previous._meta.pk.column)} "
                              "bigint GENERATED BY DEFAULT AS IDENTITY")
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(table + '_pkey')} "
                              f"PRIMARY KEY ({quote(TENANT_COLUMN)}, {quote(previous._meta.pk.column)})")
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(self.replaces)} "
                              f"UNIQUE ({', '.join(quote(f) for f in self.fields)})")

    @staticmethod
    def _drop_primary_key(schema_editor, table: str) -> None:
        with schema_editor.connection.cursor() as cursor:
            current = _primary_key(cursor, table)
        if current:
            schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} DROP CONSTRAINT "
                                  f"{schema_editor.quote_name(current[0])}")

    @staticmethod
    def _rebuild(schema_editor, old, new) -> None:
        """SQLite: a new table for the new model, the rows copied over (ids are numbered afresh)."""
        table, quote = old._meta.db_table, schema_editor.quote_name
        scratch = f"{table}__old"
        schema_editor.alter_db_table(old, table, scratch)
        for index in old._meta.indexes:  # index names are global in SQLite: free them for the new table
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(index.name)}")
        schema_editor.create_model(new)
        old_columns = {f.column for f in old._meta.local_concrete_fields}
        kept = [f.column for f in new._meta.local_concrete_fields if f.column in old_columns and not f.primary_key]
        listed = ", ".join(quote(c) for c in kept)
        schema_editor.execute(f"INSERT INTO {quote(table)} ({listed}) SELECT {listed} FROM {quote(scratch)}")
        schema_editor.execute(f"DROP TABLE {quote(scratch)}")

    def describe(self):
        return f"Natural primary key on {self.model_name}"
