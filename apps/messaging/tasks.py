"""Outbox delivery: a thin adapter over services.outbox_deliver and its beat fan-out.

The tasks keep the names they had when the outbox lived in surveys (`apps.surveys.tasks.…`), so
messages already queued and the beat schedule's entries still reach them."""

from __future__ import annotations

from celery import shared_task

from apps.messaging import services
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import fan_out_due


@shared_task(name="apps.surveys.tasks.deliver_outbox")
def deliver_outbox(tenant_id: int) -> dict:
    """Deliver the tenant's due outbox rows over SMTP, each row in its own transaction (so not a
    `tenant_task`, whose body is one transaction). Schedules itself again for rows that wait."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {}
    counts = services.outbox_deliver(tenant=tenant)
    handled = counts["sent"] + counts["retry"] + counts["failed"]
    if "next_in" in counts and (counts["retry"] or handled >= services.DELIVERY_BATCH) and not deliver_outbox.app.conf.task_always_eager:
        # Rows wait for their next attempt (or a batch was not enough): come back then. The beat
        # fan-out is the safety net if this message is lost.
        deliver_outbox.apply_async((tenant_id,), countdown=max(1.0, counts["next_in"]))
    return counts


@shared_task(name="apps.surveys.tasks.fan_out_deliver_outbox")
def fan_out_deliver_outbox() -> int:
    """Every minute: wake the delivery of the tenants whose outbox rows are due (none when all is quiet)."""
    return fan_out_due(services.DUE_KIND, deliver_outbox)
