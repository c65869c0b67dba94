"""`@tenant_task`: the Celery entry point's tenant chokepoint.

Tasks take `tenant_id` first, then ids and ISO strings only (JSON). The decorator loads the
tenant and runs the body inside `tenant_context()`, so the tenant is active for exactly that run
and reset in `finally`, whatever ran before on the same worker process.
"""

from __future__ import annotations

import functools
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

logger = logging.getLogger(__name__)


def tenant_task(*task_args, **task_kwargs):
    def decorator(fn):
        @functools.wraps(fn)
        def run(tenant_id: int, *args, **kwargs):
            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                return None  # the tenant was removed or suspended since the task was queued
            with tenant_context(tenant):
                return fn(tenant, *args, **kwargs)

        return shared_task(*task_args, **task_kwargs)(run)

    return decorator


BROKER_ERRORS = (KombuOperationalError, OSError)


def queue_on_commit(task, *args, options: dict | None = None, **kwargs) -> None:
    """Queue `task` once the current transaction commits (never for rolled-back work).

    A broker that is down at commit time loses nothing: the task is written to `DeferredTask` and
    `requeue_deferred_tasks` (beat, every minute) sends it when the broker is back; the request that saved
    its rows still answers. `options` go to `apply_async` (e.g. the queue). `robust=True` logs anything else a
    hook raises. Django logs a failing hook by its `__qualname__`, so the hook is a named function (a
    functools.partial has none, and the logging itself raised: an already-saved request answered 500)."""

    def queue():
        try:
            if options:
                task.apply_async(args, kwargs, **options)
            else:
                task.delay(*args, **kwargs)
        except BROKER_ERRORS as exc:
            task_defer(task.name, args, kwargs, exc)

    queue.__qualname__ = f"enqueue_on_commit({getattr(task, 'name', task)!s})"
    transaction.on_commit(queue, robust=True)


def enqueue_on_commit(task, tenant_id: int, *args, **kwargs) -> None:
    """Queue a tenant task (`@tenant_task`: the tenant's id first) once the current transaction commits."""
    queue_on_commit(task, tenant_id, *args, **kwargs)


def task_defer(name: str, args, kwargs, exc: Exception) -> None:
    """Keep a task the broker refused, to be sent later (its own transaction: the caller's has committed)."""
    from apps.tenancy.models import DeferredTask

    DeferredTask.objects.create(name=name, args=list(args), kwargs=dict(kwargs), error=f"{type(exc).__name__}: {exc}"[:2000])
    logger.warning("broker unavailable: %s deferred (%s)", name, exc)


@shared_task(ignore_result=True)
def requeue_deferred_tasks(limit: int = 5000) -> int:
    """Send the tasks deferred while the broker was down, oldest first; each row goes once it is sent. Stops
    at the first refusal (the broker is still down: the next run tries again)."""
    from apps.tenancy.models import DeferredTask

    sent = 0
    for row in DeferredTask.objects.order_by("id")[:limit]:
        try:
            requeue_deferred_tasks.app.send_task(row.name, args=row.args, kwargs=row.kwargs)
        except BROKER_ERRORS:
            break
        row.delete()
        sent += 1
    return sent


def polling_options() -> dict:
    """Where the beat's jobs queue their per-tenant tasks: the polling queue (CELERY_POLLING_QUEUE), so a burst
    of them never waits behind (or delays) the work requests queue, nor the reverse. Empty: the default queue."""
    queue = getattr(settings, "CELERY_POLLING_QUEUE", "")
    return {"queue": queue} if queue else {}


def fan_out(task, *args) -> int:
    """Queue `task` for every active tenant (the daily and rarer beat jobs). Returns how many were queued."""
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    options = polling_options()
    for tenant_id in ids:
        task.apply_async((tenant_id, *args), **options)
    return len(ids)


def fan_out_due(kind: str, task, *args) -> int:
    """Queue `task` for the tenants with `kind` work due now (apps/tenancy/due.py), found by one indexed query:
    an idle tick queues nothing. The claim and the queueing commit together: a task starts only after its
    claim is visible, and a broker that refuses it leaves a DeferredTask (the claim's lease is the backstop)."""
    from apps.tenancy.due import due_claim

    options = polling_options()
    with transaction.atomic():
        ids = due_claim(kind)
        for tenant_id in ids:
            queue_on_commit(task, tenant_id, *args, options=options)
    return len(ids)


@shared_task(ignore_result=True)
def mark_every_tenant_due() -> int:
    """Daily: every active tenant is due once for every kind of due work (apps/tenancy/due.py), one statement
    per kind: the backstop for a note lost to a database failure in the instant after its commit."""
    from apps.tenancy.due import due_note_every_tenant
    from apps.tenancy.models import TenantDue

    kinds = sorted(set(TenantDue.objects.values_list("kind", flat=True).distinct()))
    return due_note_every_tenant(kinds)


@tenant_task()
def purge_idempotency_records(tenant) -> int:
    from apps.tenancy.idempotency import purge_expired

    return purge_expired(tenant.pk)


@shared_task
def fan_out_purge_idempotency_records() -> int:
    from apps.tenancy.idempotency import PURGE_DUE

    return fan_out_due(PURGE_DUE, purge_idempotency_records)
