"""Webhook delivery tasks: thin adapters over apps/integrations/services.py.

`deliver_webhook` tries one delivery (its own transaction, the row locked while it is sent) and, when a
retry is due later, schedules itself with that countdown; the beat sweep (`fan_out_deliver_due_webhooks`,
every minute) queues whatever is due in case such a message was lost. Running a task twice is harmless:
the row is re-checked (pending and due) under its lock."""

from __future__ import annotations

import warnings

from celery import shared_task
from celery.exceptions import AlwaysEagerIgnored
from django.db import transaction
from django.utils import timezone

from apps.integrations import services
from apps.tenancy.due import due_settle, due_version
from apps.tenancy.tasks import fan_out_due, tenant_task


@tenant_task()
def deliver_webhook(tenant, delivery_id: int) -> dict:
    result = services.delivery_attempt(tenant=tenant, delivery_id=delivery_id)
    if result["outcome"] == "retry" and not deliver_webhook.request.is_eager:
        # In a worker, the retry goes to the broker with its countdown, counted from now (after the
        # attempt began, so it never lands before the row's next_attempt_at); the beat sweep covers a
        # lost message. send_task, not apply_async: a worker started with the test settings keeps
        # task_always_eager on, which would run the retry inline at once instead of after the wait.
        # Sent once this run's transaction commits: sooner, a short countdown could find the row still locked.
        transaction.on_commit(lambda: _send_retry(tenant.pk, delivery_id, result["retry_in"] + 0.05), robust=True)
    return result


def _send_retry(tenant_id: int, delivery_id: int, countdown: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        deliver_webhook.app.send_task(deliver_webhook.name, args=(tenant_id, delivery_id), countdown=countdown)


@tenant_task()
def deliver_due_webhooks(tenant) -> int:
    """Queue one delivery task per due pending delivery of the tenant, then note when to look again."""
    version = due_version(tenant.pk, services.DUE_KIND)  # before looking at the rows (apps/tenancy/due.py)
    now = timezone.now()
    ids = services.deliveries_due_ids(tenant=tenant, now=now)
    for delivery_id in ids:
        deliver_webhook.delay(tenant.pk, delivery_id)
    due_settle(tenant.pk, services.DUE_KIND, version, services.deliveries_next_due(now=now, queued=len(ids)))
    return len(ids)


@shared_task
def fan_out_deliver_due_webhooks() -> int:
    """Every minute: the tenants with a delivery due (none when all is quiet) sweep theirs."""
    return fan_out_due(services.DUE_KIND, deliver_due_webhooks)
