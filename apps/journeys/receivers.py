"""Receivers of domain events (apps.core.events), connected in JourneysConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from apps.core.events import touchpoint_deleting
from apps.journeys.models import StageTouchpoint
from apps.journeys.services import placements_renumber_stages


@receiver(touchpoint_deleting, dispatch_uid="journeys.touchpoint_placements")
def remove_touchpoint_placements(sender, *, tenant, touchpoint, **kwargs) -> None:
    """A touchpoint is being deleted: its placements go (as the cascade would take them) and the stages
    it stood on close the gap, in the deleting transaction."""
    placements = StageTouchpoint.objects.filter(touchpoint=touchpoint)
    stage_ids = list(placements.values_list("stage_id", flat=True))
    placements.delete()
    placements_renumber_stages(stage_ids=stage_ids)
