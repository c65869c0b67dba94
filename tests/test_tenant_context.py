"""The tenant context in the database (apps/tenancy/context.py): `SET LOCAL app.tenant_id` inside the
transaction, right across nesting, savepoints released or rolled back, and never left on a pooled
connection. Run on plain Postgres by `make test` and on the Citus cluster by scripts/citus_cluster.sh,
where the setting must also reach the workers (every read below goes through a tenant table)."""

import pytest
from django.db import connection, transaction

from apps.clients.models import Client
from apps.tenancy.context import TENANT_GUC, tenant_context
from tests.factories import ClientFactory

pytestmark = pytest.mark.postgres


def setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [TENANT_GUC])
        return cursor.fetchone()[0] or ""


def visible_clients() -> set[str]:
    """Client names the app role sees with raw SQL (row-level security alone decides)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT name FROM "{Client._meta.db_table}"')
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def two_clients(world):
    return ClientFactory(tenant=world.a, name="Of A").name, ClientFactory(tenant=world.b, name="Of B").name


def test_it_sets_the_tenant_for_the_block_only(world, two_clients):
    with tenant_context(world.a):
        assert setting() == str(world.a.pk)
        assert visible_clients() == {"Of A"}
    assert setting() == ""
    assert visible_clients() == set()


def test_it_restores_the_enclosing_tenant_after_a_nested_block(world, two_clients):
    with tenant_context(world.a):
        with tenant_context(world.b):
            assert visible_clients() == {"Of B"}
        assert setting() == str(world.a.pk)
        assert visible_clients() == {"Of A"}
        assert set(Client.objects.values_list("name", flat=True)) == {"Of A"}


def test_it_restores_the_enclosing_tenant_after_a_nested_block_fails(world, two_clients):
    with tenant_context(world.a):
        with pytest.raises(RuntimeError), tenant_context(world.b):
            assert visible_clients() == {"Of B"}
            raise RuntimeError("rolled back")
        assert setting() == str(world.a.pk)
        assert visible_clients() == {"Of A"}


def test_it_keeps_the_tenant_across_a_savepoint_released_inside_the_block(world, two_clients):
    with tenant_context(world.a):
        with transaction.atomic():
            assert visible_clients() == {"Of A"}
        assert visible_clients() == {"Of A"}
        with transaction.atomic():
            Client.objects.create(name="Made in a savepoint", active_from="2024-01-01")
        assert visible_clients() == {"Of A", "Made in a savepoint"}


def test_it_writes_only_into_the_active_tenant_after_nesting(world, two_clients):
    with tenant_context(world.a):
        with tenant_context(world.b):
            Client.objects.create(name="B's new", active_from="2024-01-01")
        Client.objects.create(name="A's new", active_from="2024-01-01")
        assert visible_clients() == {"Of A", "A's new"}
    with tenant_context(world.b):
        assert visible_clients() == {"Of B", "B's new"}

