"""Webhook delivery tasks: thin adapters over apps/integrations/services.py.

`deliver_webhook` tries one delivery (its own transaction, the row locked while it is sent) and, when a
retry is due later, schedules itself with that countdown; the beat sweep (`fan_out_deliver_due_webhooks`,
every minute) queues whatever is due in case such a message was lost. Running a task twice is harmless:
the row is re-checked (pending and due) under its lock."""

from __future__ import annotations

from celery import shared_task

from apps.integrations import services
from apps.tenancy.tasks import fan_out, tenant_task


@tenant_task()
def deliver_webhook(tenant, delivery_id: int) -> dict:
    result = services.delivery_attempt(tenant=tenant, delivery_id=delivery_id)
    if result["outcome"] == "retry" and not deliver_webhook.app.conf.task_always_eager:
        # Queued now, run after the countdown: the row's own next_attempt_at says when it is due, and
        # the task is a no-op if it comes early (the sweep covers a lost message).
        deliver_webhook.apply_async((tenant.pk, delivery_id), countdown=max(result["retry_in"], 0.05))
    return result


@tenant_task()
def deliver_due_webhooks(tenant) -> int:
    """Queue one delivery task per due pending delivery of the tenant."""
    ids = services.deliveries_due_ids(tenant=tenant)
    for delivery_id in ids:
        deliver_webhook.delay(tenant.pk, delivery_id)
    return len(ids)


@shared_task
def fan_out_deliver_due_webhooks() -> int:
    return fan_out(deliver_due_webhooks)
