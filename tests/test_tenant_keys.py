"""Tenant keys (apps/tenancy/keys.py, issue 17 item 1-2): read from the Postgres catalog, so a model or
migration that breaks the rule fails here on every change, without a Citus cluster.

Every tenant table: primary key led by `tenant_id`; every unique index includes `tenant_id`; every
foreign key to another tenant table is composite `(tenant_id, x_id) → (tenant_id, id)`. And in the ORM:
joins between tenant tables match on `tenant_id`, an update never writes it."""

import pytest
from django.core import checks
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, isolate_apps

from apps.clients.models import Client, Contact
from apps.tenancy.checks import plain_tenant_foreign_keys, tenant_foreign_keys_check
from apps.tenancy.context import tenant_context
from apps.tenancy.keys import TENANT_COLUMN, TenantForeignKey
from apps.tenancy.models import TenantScopedModel
from tests.builders import tenant_models
from tests.factories import ContactFactory

pytestmark = pytest.mark.postgres

TABLES = sorted(m._meta.db_table for m in tenant_models())


def fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def columns(table_oid_expr: str, keys: str) -> str:
    """SQL for the ordered column names of an attnum array."""
    return (f"ARRAY(SELECT a.attname::text FROM unnest({keys}) WITH ORDINALITY k(n, o) "
            f"JOIN pg_attribute a ON a.attrelid = {table_oid_expr} AND a.attnum = k.n ORDER BY k.o)")


def tenant_tables_in_catalog() -> list[str]:
    """Every table of the schema that has a tenant_id column (not only the ones the models name)."""
    return [name for (name,) in fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = %s
                         AND NOT a.attisdropped)
           ORDER BY 1""", [TENANT_COLUMN])]


def test_it_finds_every_tenant_model_table_in_the_catalog(db):
    assert set(TABLES) <= set(tenant_tables_in_catalog())


def test_it_leads_every_tenant_tables_primary_key_with_the_tenant(db):
    keys = dict(fetch(
        f"""SELECT c.conrelid::regclass::text, {columns('c.conrelid', 'c.conkey')}
            FROM pg_constraint c WHERE c.contype = 'p' AND c.conrelid::regclass::text = ANY(%s)""",
        [tenant_tables_in_catalog()]))
    wrong = {table: keys.get(table) for table in tenant_tables_in_catalog() if (keys.get(table) or [None])[0] != TENANT_COLUMN}
    assert wrong == {}, "primary keys must be (tenant_id, …)"


def test_it_includes_the_tenant_in_every_unique_index_of_a_tenant_table(db):
    rows = fetch(
        f"""SELECT i.indexrelid::regclass::text, {columns('i.indrelid', 'i.indkey::int2[]')}
            FROM pg_index i WHERE i.indisunique AND i.indrelid::regclass::text = ANY(%s)""",
        [tenant_tables_in_catalog()])
    wrong = {index: cols for index, cols in rows if TENANT_COLUMN not in cols}
    assert wrong == {}
    assert len(rows) >= 2 * len(TABLES) - 4  # every table: its primary key and (tenant, uuid) at least


def test_it_makes_every_foreign_key_between_tenant_tables_composite(db):
    tables = tenant_tables_in_catalog()
    rows = fetch(
        f"""SELECT c.conname, c.conrelid::regclass::text, {columns('c.conrelid', 'c.conkey')},
                   c.confrelid::regclass::text, {columns('c.confrelid', 'c.confkey')}
            FROM pg_constraint c
            WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s) AND c.confrelid::regclass::text = ANY(%s)""",
        [tables, tables])
    wrong = [row for row in rows if row[2][0] != TENANT_COLUMN or row[4] != [TENANT_COLUMN, "id"] or len(row[2]) != 2]
    assert wrong == []
    declared = sum(isinstance(f, TenantForeignKey) for m in tenant_models() for f in m._meta.local_fields)
    assert len(rows) == declared, "every TenantForeignKey has its composite constraint (run TenantKeys in its migration)"


def test_it_keeps_foreign_keys_to_global_tables_single_column(db):
    rows = fetch(
        f"""SELECT c.conrelid::regclass::text, {columns('c.conrelid', 'c.conkey')}
            FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = 'tenancy_tenant'::regclass""")
    assert {table for table, cols in rows if cols == [TENANT_COLUMN]} >= set(TABLES)


def test_it_joins_tenant_tables_on_the_tenant_too(world):
    with tenant_context(world.a), CaptureQueriesContext(connection) as queries:
        list(Contact.objects.filter(client__name="x").select_related("client"))
        list(Client.objects.filter(contacts__email="x@example.com"))
    forward, reverse = (q["sql"] for q in queries.captured_queries)
    assert '("clients_contact"."tenant_id" = ("clients_client"."tenant_id"))' in forward
    assert '("clients_contact"."tenant_id" = ("clients_client"."tenant_id"))' in reverse


def test_it_fetches_a_related_row_in_the_rows_own_tenant(world):
    with tenant_context(world.a):
        contact = Contact.objects.get(pk=ContactFactory(client__tenant=world.a).pk)
        with CaptureQueriesContext(connection) as queries:
            contact.client  # noqa: B018 - the descriptor's query is what is checked
    [query] = queries.captured_queries
    assert f'"clients_client"."tenant_id" = {world.a.pk}' in query["sql"]


def test_it_never_writes_the_tenant_in_an_update(world):
    with tenant_context(world.a):
        client = Client.objects.get(pk=ContactFactory(client__tenant=world.a).client_id)
        client.name = "Renamed"
        with CaptureQueriesContext(connection) as queries:
            client.save()
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    set_clause, where_clause = update.split(" WHERE ")
    assert '"tenant_id"' not in set_clause
    assert f'"clients_client"."tenant_id" = {world.a.pk}' in where_clause
    with tenant_context(world.a):
        assert Client.objects.get(pk=client.pk).name == "Renamed"


@isolate_apps("tests")
def test_it_flags_a_plain_foreign_key_between_tenant_models():
    class Parent(TenantScopedModel):
        class Meta:
            app_label = "tests"

    class Child(TenantScopedModel):
        parent = models.ForeignKey(Parent, on_delete=models.CASCADE)
        kept = TenantForeignKey(Parent, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tests"

    errors = plain_tenant_foreign_keys([Parent, Child])
    assert [(e.id, e.obj.name) for e in errors] == [("tenancy.E001", "parent")]
    assert isinstance(errors[0], checks.Error)


def test_it_passes_the_tenant_foreign_key_check_on_the_product():
    assert tenant_foreign_keys_check() == []
