"""A migration operation that puts a tenant table under forced row-level security.

One line per tenant model in its migration: `EnableRLS("client")`. The policy compares the row's
tenant with the transaction-local setting `app.tenant_id`; with no setting the app role sees and
writes nothing (fail closed). `lookups` adds read-only policies for columns that must be found
before a tenant is known (see `rows_by_key_including_cross_tenant`).
"""

from django.db.migrations.operations.base import Operation

from apps.tenancy.context import TENANT_GUC, lookup_guc

POLICY = "tenant_isolation"


def _setting(name: str, cast: str) -> str:
    return f"NULLIF(current_setting('{name}', true), '')::{cast}"


def rls_statements(model, lookups, connection, quote_name) -> list[str]:
    table = quote_name(model._meta.db_table)
    tenant_cast = model._meta.get_field("tenant").target_field.rel_db_type(connection)
    condition = f"tenant_id = {_setting(TENANT_GUC, tenant_cast)}"
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {table}",
        f"CREATE POLICY {POLICY} ON {table} USING ({condition}) WITH CHECK ({condition})",
    ]
    for name in lookups:
        field = model._meta.get_field(name)
        column = quote_name(field.column)
        cast = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
        policy = quote_name(f"lookup_by_{field.column}")
        statements += [
            f"DROP POLICY IF EXISTS {policy} ON {table}",
            f"CREATE POLICY {policy} ON {table} FOR SELECT USING ({column} = {_setting(lookup_guc(field.column), cast)})",
        ]
    return statements


class EnableRLS(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, lookups: tuple[str, ...] | list[str] = ()):
        self.model_name = model_name
        self.lookups = tuple(lookups)

    def deconstruct(self):
        kwargs = {"lookups": self.lookups} if self.lookups else {}
        return (self.__class__.__qualname__, [self.model_name], kwargs)

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        for sql in rls_statements(model, self.lookups, schema_editor.connection, schema_editor.quote_name):
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        for name in self.lookups:
            column = model._meta.get_field(name).column
            schema_editor.execute(f"DROP POLICY IF EXISTS {schema_editor.quote_name(f'lookup_by_{column}')} ON {table}")
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    def describe(self):
        return f"Force row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.model_name.lower()}"


def backfill_each_tenant(apps, schema_editor, backfill) -> None:
    """A data migration's loop over tenants: tenant tables are under forced row-level security, so even
    the owner sees a tenant's rows only with its `app.tenant_id` set. Calls `backfill(tenant)` with the
    setting in place (transaction-local), then clears it."""
    connection = schema_editor.connection

    def set_tenant(value: str) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT set_config('{TENANT_GUC}', %s, true)", [value])

    for tenant in apps.get_model("tenancy", "Tenant").objects.all():
        set_tenant(str(tenant.pk))
        backfill(tenant)
    set_tenant("")
