"""Named per-tenant locks held until the transaction ends (what `pg_advisory_xact_lock` did, but
cluster-wide: see TenantLock). Used by the metrics engine to serialise rollup refreshes of a day, a
rebuild against refreshes, and churn-risk scoring of a tenant.

    with tenant_context(tenant):
        tenant_locks(["rollups"], shared=True)            # many refreshes at once, no rebuild
        tenant_locks([f"rollups:{day}" for day in days])  # one refresh of a day at a time

Names are locked in sorted order, so two callers asking for overlapping sets cannot deadlock. On SQLite
(the one-process demo) the database serialises writers itself and nothing is done.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from apps.tenancy.context import require_current_tenant
from apps.tenancy.models import TenantLock

TABLE = TenantLock._meta.db_table


def tenant_locks(names: Iterable[str], *, shared: bool = False) -> None:
    """Lock `names` for the active tenant until the transaction ends (exclusive, or shared)."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("tenant_locks() holds its locks until the transaction ends: call it inside one.")
    tenant = require_current_tenant()
    names = sorted(set(names))
    if not names:
        return
    mode = "FOR SHARE" if shared else "FOR UPDATE"
    lock = f"SELECT 1 FROM {TABLE} WHERE tenant_id = %s AND name = %s {mode}"
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(lock, [tenant.pk, name])
            if cursor.fetchone() is None:
                # First use of this name by the tenant: create its row (a concurrent first user waits
                # for this transaction on the key, then finds the row), then lock it.
                cursor.execute(f"INSERT INTO {TABLE} (tenant_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                               [tenant.pk, name])
                cursor.execute(lock, [tenant.pk, name])
