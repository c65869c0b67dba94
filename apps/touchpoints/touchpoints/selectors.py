"""Reads for touchpoints: the list (with where each is placed and its recent activity) and look-ups.

Each function issues a fixed number of queries, whatever the number of rows: counts are
annotations, placements are one prefetch.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.touchpoints.models import Touchpoint

ACTIVITY_DAYS = 90


def activity_since():
    return timezone.now() - timedelta(days=ACTIVITY_DAYS)


def touchpoint_list() -> QuerySet[Touchpoint]:
    """Touchpoints, active first then by name, each with `team`, `interactions_recent` (logged in the
    last ACTIVITY_DAYS days) and `journey_placements` (its places on journey stages)."""
    # Placements are journeys' rows, reached through the reverse relation journeys declares
    # (`Touchpoint.placements`): touchpoints sits below journeys and never imports it.
    placement_model = Touchpoint._meta.get_field("placements").related_model
    placements = placement_model.objects.select_related("stage__journey").order_by("stage__journey__name", "stage__order")
    return (
        Touchpoint.objects.select_related("team")
        .annotate(interactions_recent=Count("interactions", filter=Q(interactions__occurred_at__gte=activity_since())))
        .prefetch_related(Prefetch("placements", queryset=placements, to_attr="journey_placements"))
        .order_by("-is_active", "name")
    )


def touchpoint_get(*, uuid) -> Touchpoint | None:
    return touchpoint_list().filter(uuid=uuid).first()
