"""Named per-tenant locks (apps/tenancy/locks.py): row locks that replace advisory locks so that they
hold across the nodes of a Citus cluster. Two real connections (threads) on Postgres; run on the
cluster by scripts/citus_cluster.sh too."""

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from apps.tenancy.context import tenant_context
from apps.tenancy.locks import tenant_locks
from tests.factories import TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def hold(tenant, names, *, shared=False):
    """Take the locks in another connection and keep them until the returned event is set."""
    taken, release = threading.Event(), threading.Event()

    def run():
        try:
            with tenant_context(tenant):
                tenant_locks(names, shared=shared)
                taken.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert taken.wait(10), "the other connection could not take its locks"
    return release, thread


def try_locks(tenant, names, *, shared=False) -> bool:
    """Whether this connection gets the locks within 300 ms."""
    try:
        with tenant_context(tenant), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            tenant_locks(names, shared=shared)
        return True
    except OperationalError:
        return False


@pytest.fixture
def tenants():
    return TenantFactory(), TenantFactory()


def test_it_makes_a_second_holder_of_the_same_name_wait(tenants):
    a, _ = tenants
    release, thread = hold(a, ["rollups:2026-01-01"])
    try:
        assert try_locks(a, ["rollups:2026-01-01"]) is False
        assert try_locks(a, ["rollups:2026-01-02"]) is True
    finally:
        release.set()
        thread.join()
    assert try_locks(a, ["rollups:2026-01-01"]) is True


def test_it_keeps_tenants_apart(tenants):
    a, b = tenants
    release, thread = hold(a, ["churn-risk"])
    try:
        assert try_locks(b, ["churn-risk"]) is True
    finally:
        release.set()
        thread.join()


def test_it_lets_shared_holders_share_and_blocks_the_exclusive_one(tenants):
    a, _ = tenants
    assert try_locks(a, ["rollups"]) is True  # the lock's row exists from now on (its first user creates it)
    release, thread = hold(a, ["rollups"], shared=True)
    try:
        assert try_locks(a, ["rollups"], shared=True) is True
        assert try_locks(a, ["rollups"]) is False
    finally:
        release.set()
        thread.join()


def test_it_refuses_to_lock_outside_a_transaction(tenants):
    a, _ = tenants
    with tenant_context(a):
        pass
    with pytest.raises(RuntimeError, match="inside one"):
        tenant_locks(["x"])
