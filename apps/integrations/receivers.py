"""Domain events → webhook deliveries (connected in IntegrationsConfig.ready()).

Receivers run inside the emitting transaction (apps/core/events.py): their rows commit with the event's,
and the deliveries leave on commit. A failure here is logged and rolled back to a savepoint, never
allowed to break the response submission or the case change that sent the event."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from apps.core.events import case_opened, case_resolved, response_created
from apps.integrations import payloads, services

logger = logging.getLogger(__name__)


def _safely(what: str, fn) -> None:
    try:
        with transaction.atomic():
            fn()
    except Exception:  # noqa: BLE001 - webhooks must never break the business transaction
        logger.exception("webhooks: could not queue %s", what)


@receiver(response_created, dispatch_uid="integrations.response_created")
def on_response_created(sender, tenant, response, **kwargs):
    if response.is_bot:
        return

    def emit():
        services.webhook_events_emit(tenant=tenant, event_type="response.created", data=lambda: payloads.response_data(tenant, response),
                                     event_key=f"response.created:{response.uuid}", occurred_at=response.submitted_at)
        services.slack_detractor_alert_emit(tenant=tenant, response=response)

    _safely(f"response.created {response.uuid}", emit)


@receiver(case_opened, dispatch_uid="integrations.case_opened")
def on_case_opened(sender, tenant, case, **kwargs):
    _safely(f"case.opened {case.uuid}", lambda: services.webhook_events_emit(
        tenant=tenant, event_type="case.opened", data=lambda: payloads.case_data(tenant, case),
        event_key=f"case.opened:{case.uuid}", occurred_at=case.opened_at))


@receiver(case_resolved, dispatch_uid="integrations.case_resolved")
def on_case_resolved(sender, tenant, case, **kwargs):
    # A case may be resolved, reopened and resolved again: each resolution is its own event.
    stamp = case.resolved_at.isoformat() if case.resolved_at else ""
    _safely(f"case.resolved {case.uuid}", lambda: services.webhook_events_emit(
        tenant=tenant, event_type="case.resolved", data=lambda: payloads.case_data(tenant, case),
        event_key=f"case.resolved:{case.uuid}:{stamp}", occurred_at=case.resolved_at))
