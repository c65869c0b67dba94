"""`@tenant_task`: the Celery entry point's tenant chokepoint.

Tasks take `tenant_id` first, then ids and ISO strings only (JSON). The decorator loads the
tenant and runs the body inside `tenant_context()`, so the tenant is active for exactly that run
and reset in `finally`, whatever ran before on the same worker process.
"""

from __future__ import annotations

import functools
import logging

from celery import shared_task
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


def queue_on_commit(task, *args, **kwargs) -> None:
    """Queue `task` once the current transaction commits (never for rolled-back work).

    A broker that is down at commit time loses nothing: the task is written to `DeferredTask` and
    `requeue_deferred_tasks` (beat, every minute) sends it when the broker is back; the request that saved
    its rows still answers. `robust=True` logs anything else a hook raises. Django logs a failing hook by its
    `__qualname__`, so the hook is a named function (a functools.partial has none, and the logging itself
    raised: an already-saved request answered 500)."""

    def queue():
        try:
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


def fan_out(task, *args) -> int:
    """Queue `task` for every active tenant (beat jobs). Returns how many were queued."""
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        task.delay(tenant_id, *args)
    return len(ids)


@tenant_task()
def purge_idempotency_records(tenant) -> int:
    from apps.tenancy.idempotency import purge_expired

    return purge_expired()


@shared_task
def fan_out_purge_idempotency_records() -> int:
    return fan_out(purge_idempotency_records)
