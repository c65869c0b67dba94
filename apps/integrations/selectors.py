"""Read side of the webhooks pages: endpoints with their latest delivery, and the delivery log."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery

from apps.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list():
    """Every endpoint of the active tenant, newest first, with its latest delivery's status and time and
    its failed-delivery count (one query)."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    return (WebhookEndpoint.objects.select_related("created_by__user")
            .annotate(last_status=Subquery(latest.values("status")[:1]),
                      last_at=Subquery(latest.values("created_at")[:1]),
                      last_code=Subquery(latest.values("last_status_code")[:1]),
                      failed_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)))
            .order_by("-created_at", "-id"))


def delivery_log(endpoint: WebhookEndpoint):
    """The endpoint's deliveries, newest first, each with its attempts (two queries per page)."""
    return (WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
            .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("attempted_at", "id"))))


def delivery_counts(endpoint: WebhookEndpoint) -> dict:
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in WebhookDelivery.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
