"""Layer 3 of DESIGN.md, on Postgres: forced row-level security on every tenant table, an app
role that cannot bypass it, and raw SQL that sees nothing without a tenant."""

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.utils import DatabaseError

from apps.tenancy.context import rows_by_key_including_cross_tenant, tenant_context
from apps.tenancy.models import ApiKey, Membership, TenantScopedModel
from apps.tenancy.signals import APPEND_ONLY_TABLES
from tests.builders import tenant_models
from tests.conftest import make_api_key

pytestmark = pytest.mark.postgres

TABLES = sorted(m._meta.db_table for m in tenant_models())


def fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def test_it_has_tenant_tables_to_check():
    assert {"tenancy_membership", "tenancy_apikey", "tenancy_auditevent", "accounts_membershipinvitation"} <= set(TABLES)


@pytest.mark.parametrize("table", TABLES)
def test_it_forces_row_level_security_on_every_tenant_table(table, db):
    rows = fetch("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s", [table])
    assert rows == [(True, True)], f"{table}: RLS must be ENABLEd and FORCEd"
    policies = fetch("SELECT policyname, qual, with_check FROM pg_policies WHERE tablename = %s", [table])
    isolation = [p for p in policies if p[0] == "tenant_isolation"]
    assert isolation, f"{table} has no tenant_isolation policy"
    assert "app.tenant_id" in isolation[0][1]
    assert "app.tenant_id" in isolation[0][2]


def test_it_runs_as_a_role_that_cannot_bypass_rls(db):
    [(user, superuser, bypass)] = fetch(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert user == "cxm_app"
    assert not superuser
    assert not bypass
    owners = {owner for (owner,) in fetch("SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = ANY(%s)", [TABLES])}
    assert user not in owners


def test_it_sees_and_updates_zero_rows_without_a_tenant(world):
    for table in TABLES:
        assert fetch(f'SELECT count(*) FROM "{table}"') == [(0,)], table
        if table in APPEND_ONLY_TABLES:
            continue  # UPDATE/DELETE are not even granted (test_it_keeps_the_audit_log_append_only)
        assert execute(f'UPDATE "{table}" SET tenant_id = tenant_id') == 0, table
        assert execute(f'DELETE FROM "{table}"') == 0, table
    with tenant_context(world.a):
        assert Membership.objects.count() == 5  # the rows are there; RLS hid them


def test_it_sees_only_the_active_tenants_rows_in_raw_sql(world):
    with tenant_context(world.b):
        tenants = fetch("SELECT DISTINCT tenant_id FROM tenancy_membership")
        assert tenants == [(world.b.pk,)]
        assert execute("UPDATE tenancy_membership SET role = role WHERE tenant_id = %s", [world.a.pk]) == 0


def test_it_rejects_inserting_a_row_for_another_tenant(world):
    with tenant_context(world.a):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                execute(
                    "INSERT INTO tenancy_team (tenant_id, uuid, name, description, created_at, updated_at) "
                    "VALUES (%s, gen_random_uuid(), 'Evil', '', now(), now())", [world.b.pk])


def test_it_keeps_the_audit_log_append_only(world):
    with tenant_context(world.a):
        from apps.tenancy.services import audit_event_record

        audit_event_record(tenant=world.a, acting_user=None, action="test.event")
        with pytest.raises(ProgrammingError, match="permission denied"):
            with transaction.atomic():
                execute("UPDATE tenancy_auditevent SET action = 'forged'")
        with pytest.raises(ProgrammingError, match="permission denied"):
            with transaction.atomic():
                execute("DELETE FROM tenancy_auditevent")


def test_it_lets_identity_lookups_read_only_the_matching_rows(world):
    rows = rows_by_key_including_cross_tenant(Membership, "user_id", world.dana.pk)
    assert sorted(r.tenant.slug for r in rows) == ["acme", "globex"]
    # The lookup setting grants reading the matching rows, nothing else, and no writes.
    with transaction.atomic():
        # SET LOCAL, as the product sets it: on Citus only SET LOCAL reaches the workers, set_config() does not.
        execute("SET LOCAL app.lookup_user_id = %s", [str(world.dana.pk)])
        assert fetch("SELECT count(*) FROM tenancy_membership") == [(2,)]
        assert execute("UPDATE tenancy_membership SET role = 'admin'") == 0
        assert fetch("SELECT count(*) FROM tenancy_team") == [(0,)]


def test_it_finds_an_api_key_by_prefix_only(world):
    key, raw = make_api_key(world.b)
    assert [k.pk for k in rows_by_key_including_cross_tenant(ApiKey, "prefix", key.prefix)] == [key.pk]
    assert rows_by_key_including_cross_tenant(ApiKey, "prefix", "000000000000") == []


@pytest.mark.django_db(transaction=True)
def test_it_never_leaves_the_tenant_setting_on_the_connection(world):
    with tenant_context(world.a):
        assert fetch("SELECT current_setting('app.tenant_id', true)") == [(str(world.a.pk),)]
    # Committed: the transaction-local setting died with the transaction.
    assert fetch("SELECT coalesce(current_setting('app.tenant_id', true), '')") == [("",)]
    assert fetch("SELECT count(*) FROM tenancy_membership") == [(0,)]


def test_it_rejects_a_duplicate_membership_per_tenant(world):
    with tenant_context(world.a):
        with pytest.raises(IntegrityError):
            with transaction.atomic():
                Membership(tenant=world.a, user=world.alice, role="staff").save()


def test_every_tenant_model_is_a_tenant_scoped_model():
    assert all(issubclass(m, TenantScopedModel) for m in tenant_models())
