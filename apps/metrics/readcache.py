"""Finished rollup reads, kept per process and never stale (issue 18, P2).

Dashboards ask the same sums again and again between two writes: every page load of every lead reads the same
summary, trend and breakdowns. Each answer is kept in this process under (tenant, what was asked, the tenant's
*rollup version*) and served again only while that version is still the one the database holds — checked by one
primary-key read in the caller's own transaction (≈0.1 ms instead of the statement and the statistics).

Why a cached answer is never stale:

- every transaction that changes a tenant's response rollups (cells, day and month rollups, transitions) writes
  a fresh version for the tenant **in that transaction** (`bump`, called by apps.metrics.rollups before it writes),
  so the committed version changes exactly when the committed rollups do;
- a read takes the version first and computes after: under READ COMMITTED the computation sees everything
  committed at that version (perhaps more, which is only newer committed data — and a later reader sees the newer
  version anyway);
- versions are random 63-bit numbers, never a counter: an answer cached inside a transaction that wrote rollups
  (at its own, uncommitted version) can never match a version another transaction commits later, even if the
  first one rolls back;
- keys carry the tenant, and the version row is read under the tenant's row-level security.

A tenant without a version row (no rollup written since this table appeared) reads as version 0; its first write
inserts the row. Bounded: the least recently used answers go beyond `METRICS_READ_CACHE_ENTRIES` (0 turns the
cache off). Each process (gunicorn worker, Celery child) has its own; nothing is shared or sent anywhere.
"""

from __future__ import annotations

import pickle
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.conf import settings
from django.db import connection

from apps.core.prepared import execute_prepared
from apps.metrics.models import RollupVersion

T = TypeVar("T")

RESPONSES = "responses"
_TABLE = RollupVersion._meta.db_table
_READ = f"SELECT version FROM {_TABLE} WHERE tenant_id = %s AND name = %s"
_BUMP = (f"INSERT INTO {_TABLE} (tenant_id, name, version) VALUES (%s, %s, %s) "
         "ON CONFLICT (tenant_id, name) DO UPDATE SET version = excluded.version")

_entries: OrderedDict[tuple, object] = OrderedDict()
_guard = threading.Lock()
_MISSING = object()


def bump(tenant_pk: int, name: str = RESPONSES) -> None:
    """Give the tenant's `name` rows a new version, in the current transaction. Call it in every transaction that
    changes them, before reading them back (a write after the bump in the same call is covered by it)."""
    with connection.cursor() as cursor:
        cursor.execute(_BUMP, [tenant_pk, name, secrets.randbits(63)])


def version(tenant_pk: int, name: str = RESPONSES) -> int:
    """The tenant's current version of `name` (0 before the first write)."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, _READ, [tenant_pk, name])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _capacity() -> int:
    return int(getattr(settings, "METRICS_READ_CACHE_ENTRIES", 2048))


def cached(tenant_pk: int, key: Hashable, compute: Callable[[], T], *, name: str = RESPONSES, mutable: bool = False) -> T:
    """`compute()`, or the answer it gave at the tenant's current version of `name`. An immutable answer (tuples,
    numbers, dates) is shared between callers; a `mutable` one (dicts, lists) is kept pickled and each caller gets
    its own copy (unpickling a summary's blocks takes ~7 µs, a deep copy ~35)."""
    capacity = _capacity()
    if capacity <= 0:
        return compute()
    full_key = (tenant_pk, name, version(tenant_pk, name), key)
    with _guard:
        kept = _entries.get(full_key, _MISSING)
        if kept is not _MISSING:
            _entries.move_to_end(full_key)
    if kept is not _MISSING:
        return pickle.loads(kept) if mutable else kept  # type: ignore[return-value]
    answer = compute()
    with _guard:
        _entries[full_key] = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL) if mutable else answer
        while len(_entries) > capacity:
            _entries.popitem(last=False)
    return answer


def clear() -> None:
    """Forget every kept answer (tests; never needed for correctness)."""
    with _guard:
        _entries.clear()
