"""Webhook endpoints (admins), event fan-out and delivery.

Fan-out: `webhook_events_emit` writes one `WebhookDelivery` per active endpoint subscribed to the event,
in the caller's transaction, with a message id derived from the event's business key (so emitting the
same event twice delivers it once: the row is unique per endpoint and id), and queues the delivery task
on commit. Slack endpoints get detractor alerts instead (`slack_detractor_alert_emit`).

Delivery (`delivery_attempt`, run by `apps.integrations.tasks.deliver_webhook`): claim the due pending row
with `select_for_update(skip_locked=True)` (two workers never send one row at the same time), re-run the
SSRF check and POST (apps/integrations/network.py), log the attempt, then:
2xx → succeeded; 4xx other than 408/429 (and 3xx: redirects are not followed) → failed, never retried;
5xx, 408, 429, timeouts and connection errors → retried after `WEBHOOKS_BACKOFF_SECONDS` × 2^(attempt−1)
(± `WEBHOOKS_BACKOFF_JITTER`) until `WEBHOOKS_MAX_ATTEMPTS`, then failed. A crash between the receiver's
answer and our commit leaves the row pending, so it is sent again with the same `webhook-id`: receivers
drop duplicates by it (at-least-once, as the spec says).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from apps.integrations import network, payloads
from apps.integrations.models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.integrations.signing import secret_generate, signed_headers
from apps.tenancy.due import DUE_LEASE, due_note
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.services import audit_changes, audit_event_record
from apps.tenancy.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

EVENT_NAMES = [name for name, _ in EVENT_TYPES]
TEST_EVENT = "webhook.test"
SLACK_EVENTS = ["response.created"]  # Slack endpoints: detractor alerts, from new responses


# --- settings -----------------------------------------------------------------------------------

def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOKS_MAX_ATTEMPTS", 8))


def backoff_seconds(attempts: int) -> float:
    """The wait after the `attempts`-th failed try, without jitter: base × 2^(attempts−1)."""
    base = float(getattr(settings, "WEBHOOKS_BACKOFF_SECONDS", 60))
    return base * 2 ** max(attempts - 1, 0)


def backoff_with_jitter(attempts: int) -> float:
    jitter = float(getattr(settings, "WEBHOOKS_BACKOFF_JITTER", 0.0))
    wait = backoff_seconds(attempts)
    return wait * (1 + random.uniform(-jitter, jitter)) if jitter > 0 else wait


def event_id_for(tenant: Tenant, event_key: str) -> str:
    """The `webhook-id`: stable for one business event (its key), different across tenants."""
    return "msg_" + hashlib.sha256(f"{tenant.pk}:{event_key}".encode()).hexdigest()[:32]


# --- endpoints (admins) -------------------------------------------------------------------------

def _user(acting_member):
    return getattr(acting_member, "user", acting_member)


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        network.url_check(url)
    except network.UnsafeUrl as exc:
        raise ValidationError({"url": str(exc)}) from exc
    return url


def _clean_events(kind: str, events) -> list[str]:
    if kind == WebhookEndpoint.Kind.SLACK:
        return list(SLACK_EVENTS)
    events = list(dict.fromkeys(events or []))
    unknown = [e for e in events if e not in EVENT_NAMES]
    if unknown:
        raise ValidationError({"events": f"Unknown event type: {', '.join(unknown)}."})
    if not events:
        raise ValidationError({"events": "Choose at least one event."})
    return [e for e in EVENT_NAMES if e in events]


@transaction.atomic
def endpoint_create(*, tenant: Tenant, acting_member, url: str, kind: str = WebhookEndpoint.Kind.STANDARD,
                    events=(), description: str = "") -> WebhookEndpoint:
    """Register an endpoint with a new signing secret (the caller shows it to the admin)."""
    if kind not in WebhookEndpoint.Kind.values:
        raise ValidationError({"kind": "Choose standard or Slack."})
    endpoint = WebhookEndpoint(tenant=tenant, kind=kind, url=_clean_url(url), events=_clean_events(kind, events),
                               description=(description or "").strip(), secret=secret_generate(),
                               created_by=acting_member if isinstance(acting_member, Membership) else None)
    endpoint.full_clean()
    endpoint.save()
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="webhook.created", target=endpoint,
                       changes={"url": [None, endpoint.url], "kind": [None, endpoint.kind], "events": [None, endpoint.events]})
    return endpoint


def _snapshot(endpoint: WebhookEndpoint) -> dict:
    return {"url": endpoint.url, "events": list(endpoint.events), "description": endpoint.description, "is_active": endpoint.is_active}


@transaction.atomic
def endpoint_update(*, tenant: Tenant, acting_member, endpoint: WebhookEndpoint, url: str | None = None, events=None,
                    description: str | None = None, is_active: bool | None = None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _snapshot(endpoint)
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = _clean_url(url)
    if events is not None:
        endpoint.events = _clean_events(endpoint.kind, events)
    if description is not None:
        endpoint.description = description.strip()
    if is_active is not None:
        endpoint.is_active = is_active
    endpoint.full_clean()
    endpoint.save()
    changes = audit_changes(before, _snapshot(endpoint))
    if changes:
        action = "webhook.updated"
        if set(changes) == {"is_active"}:
            action = "webhook.enabled" if endpoint.is_active else "webhook.disabled"
        audit_event_record(tenant=tenant, acting_user=_user(acting_member), action=action, target=endpoint, changes=changes)
    if endpoint.is_active and not before["is_active"]:
        _queue_due(tenant)  # deliveries that waited while it was disabled
        due_note(tenant.pk, DUE_KIND)
    return endpoint


@transaction.atomic
def endpoint_delete(*, tenant: Tenant, acting_member, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its delivery log."""
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="webhook.deleted", target=endpoint,
                       target_label=endpoint.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def endpoint_rotate_secret(*, tenant: Tenant, acting_member, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret; the old one stops working at once (deliveries are signed at send time)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.secret = secret_generate()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="webhook.secret_rotated", target=endpoint)
    return endpoint


@transaction.atomic
def endpoint_secret_reveal(*, tenant: Tenant, acting_member, endpoint: WebhookEndpoint) -> str:
    """The signing secret, for an admin to copy; each reveal is audited."""
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="webhook.secret_revealed", target=endpoint)
    return endpoint.secret


# --- fan-out ------------------------------------------------------------------------------------

def _delivery_write(*, tenant: Tenant, endpoint: WebhookEndpoint, event_type: str, event_id: str, payload: dict,
                    now: datetime) -> WebhookDelivery | None:
    """One delivery row (None when this event already went to this endpoint); its task queued on commit."""
    if WebhookDelivery.objects.filter(endpoint=endpoint, event_id=event_id).exists():
        return None
    delivery = WebhookDelivery(tenant=tenant, endpoint=endpoint, event_type=event_type, event_id=event_id,
                               payload=payload, next_attempt_at=now)
    try:
        with transaction.atomic():  # a concurrent emitter may have written it meanwhile
            delivery.save()
    except IntegrityError:
        return None
    due_note(tenant.pk, DUE_KIND)  # the beat's sweep wakes it if the task below is lost
    from apps.integrations.tasks import deliver_webhook

    enqueue_on_commit(deliver_webhook, tenant.pk, delivery.pk)
    return delivery


def _endpoints_for(event_type: str, kind: str) -> list[WebhookEndpoint]:
    return [e for e in WebhookEndpoint.objects.filter(is_active=True, kind=kind).order_by("pk") if event_type in (e.events or [])]


def webhook_events_emit(*, tenant: Tenant, event_type: str, data, event_key: str,
                        occurred_at: datetime | None = None) -> list[WebhookDelivery]:
    """Queue `event_type` for every active standard endpoint subscribed to it; idempotent on `event_key`.

    `data` is the payload's data dict, or a function returning it (built only when an endpoint listens).
    Runs in the caller's transaction (tenant active); the deliveries leave once it commits."""
    now = timezone.now()
    endpoints = _endpoints_for(event_type, WebhookEndpoint.Kind.STANDARD)
    if not endpoints:
        return []
    body = payloads.envelope(event_type, occurred_at or now, data() if callable(data) else data)
    event_id = event_id_for(tenant, event_key)
    written = [_delivery_write(tenant=tenant, endpoint=e, event_type=event_type, event_id=event_id, payload=body, now=now)
               for e in endpoints]
    return [d for d in written if d is not None]


def slack_detractor_alert_emit(*, tenant: Tenant, response) -> list[WebhookDelivery]:
    """A Slack message to every active Slack endpoint when `response` is a detractor (NPS ≤ 6, CSAT ≤ 2)."""
    if response.is_bot or payloads.detractor_score(response) is None:
        return []
    endpoints = _endpoints_for("response.created", WebhookEndpoint.Kind.SLACK)
    if not endpoints:
        return []
    message = payloads.slack_detractor_message(tenant, response)
    event_id = event_id_for(tenant, f"slack.detractor:{response.uuid}")
    now = timezone.now()
    written = [_delivery_write(tenant=tenant, endpoint=e, event_type="response.created", event_id=event_id, payload=message, now=now)
               for e in endpoints]
    return [d for d in written if d is not None]


@transaction.atomic
def webhook_test_send(*, tenant: Tenant, acting_member, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event (a Slack test message for Slack) to this endpoint, whatever it subscribes to."""
    if not endpoint.is_active:
        raise ValidationError("Enable the endpoint before sending it a test event.")
    now = timezone.now()
    if endpoint.kind == WebhookEndpoint.Kind.SLACK:
        payload = payloads.slack_test_message(tenant)
    else:
        payload = payloads.envelope(TEST_EVENT, now, payloads.test_data(tenant, endpoint))
    event_id = event_id_for(tenant, f"{TEST_EVENT}:{endpoint.uuid}:{now.isoformat()}")
    delivery = _delivery_write(tenant=tenant, endpoint=endpoint, event_type=TEST_EVENT, event_id=event_id, payload=payload, now=now)
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="webhook.test_sent", target=endpoint)
    return delivery


@transaction.atomic
def delivery_redeliver(*, tenant: Tenant, acting_member, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (same webhook-id, so receivers may drop it as a duplicate), with a fresh
    retry budget: `attempts` counts the tries of the current round; the log keeps every try."""
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise ValidationError("This delivery is still being tried; wait for its result.")
    if not delivery.endpoint.is_active:
        raise ValidationError("Enable the endpoint before redelivering.")
    delivery.status, delivery.attempts, delivery.next_attempt_at = WebhookDelivery.Status.PENDING, 0, timezone.now()
    delivery.delivered_at = None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at", "updated_at"])
    due_note(tenant.pk, DUE_KIND)
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="webhook.redelivered", target=delivery.endpoint,
                       changes={"event_id": [None, delivery.event_id]})
    from apps.integrations.tasks import deliver_webhook

    enqueue_on_commit(deliver_webhook, tenant.pk, delivery.pk)
    return delivery


# --- delivery -----------------------------------------------------------------------------------

DUE_KIND = "webhooks"  # apps/tenancy/due.py: the beat's sweep wakes a tenant when a delivery falls due


def deliveries_next_due(*, now: datetime, queued: int, limit: int = 500) -> datetime | None:
    """When the sweep should next look at this tenant, after it queued `queued` due deliveries: at once when it
    hit its limit; else the next retry's time, and no later than the due-work lease while queued ones are out."""
    if queued >= limit:
        return now
    later = (WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__gt=now)
             .aggregate(t=Min("next_attempt_at"))["t"])
    if queued:
        later = min(later or now + DUE_LEASE, now + DUE_LEASE)
    return later

def _due(now: datetime):
    return (WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
            .filter(next_attempt_at__lte=now))


def deliveries_due_ids(*, tenant: Tenant, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Due pending deliveries of active endpoints (the beat sweep queues one task each)."""
    now = now or timezone.now()
    return list(_due(now).filter(endpoint__is_active=True).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def _queue_due(tenant: Tenant) -> None:
    from apps.integrations.tasks import deliver_webhook

    for delivery_id in deliveries_due_ids(tenant=tenant):
        enqueue_on_commit(deliver_webhook, tenant.pk, delivery_id)


def request_body(payload: dict) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_attempt(*, tenant: Tenant, delivery_id: int, now: datetime | None = None) -> dict:
    """Try one due delivery once, in the caller's transaction (tenant active).

    Returns {"outcome": "succeeded" | "retry" | "failed" | "skipped"} and, for a retry, "retry_in" seconds.
    "skipped": not due, not pending, or being sent by another worker right now."""
    now = now or timezone.now()
    delivery = (_due(now).filter(pk=delivery_id).select_for_update(skip_locked=True, of=("self",))
                .select_related("endpoint").first())
    if delivery is None:
        return {"outcome": "skipped"}
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return {"outcome": "skipped"}  # waits, pending, until the endpoint is enabled again (enabling queues it)
    body = request_body(delivery.payload)
    headers = {}
    if endpoint.kind == WebhookEndpoint.Kind.STANDARD:
        headers = signed_headers(secret=endpoint.secret, msg_id=delivery.event_id, body=body, timestamp=int(now.timestamp()))
    result = network.post(endpoint.url, body=body, headers=headers)
    WebhookAttempt.objects.create(tenant=tenant, delivery=delivery, attempted_at=now, status_code=result.status_code,
                                  error=result.error[:2000], response_excerpt=result.excerpt[:500], duration_ms=result.duration_ms)
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    fields = ["attempts", "last_status_code", "last_error", "status", "next_attempt_at", "delivered_at", "updated_at"]
    if result.status_code is not None and 200 <= result.status_code < 300:
        delivery.status, delivery.last_error = WebhookDelivery.Status.SUCCEEDED, ""
        delivery.next_attempt_at, delivery.delivered_at = None, timezone.now()
        delivery.save(update_fields=fields)
        return {"outcome": "succeeded"}
    if result.retryable and delivery.attempts < max_attempts():
        wait = backoff_with_jitter(delivery.attempts)
        delivery.last_error = result.error[:2000]
        delivery.next_attempt_at = now + timedelta(seconds=wait)
        delivery.save(update_fields=fields)
        due_note(tenant.pk, DUE_KIND, delivery.next_attempt_at)  # the sweep's backstop for the countdown message
        return {"outcome": "retry", "retry_in": wait}
    delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    delivery.last_error = (result.error if not result.retryable else
                           f"Gave up after {delivery.attempts} attempts. Last error: {result.error}")[:2000]
    delivery.save(update_fields=fields)
    logger.warning("webhooks: delivery %s to endpoint %s failed: %s", delivery.event_id, endpoint.uuid, delivery.last_error)
    return {"outcome": "failed"}
