"""Receivers of domain events (apps.core.events), connected in MetricsConfig.ready(): metrics keeps
its stored statistics right when what it counts changes below it."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from apps.core.events import (
    response_changed,
    response_created,
    response_themes_changed,
    responses_imported,
    survey_deleted,
    tenant_time_zone_changed,
)
from apps.metrics.models import FunnelRollup
from apps.tenancy.tasks import enqueue_on_commit


@receiver(response_created, dispatch_uid="metrics.refresh_rollups_for_response")
def count_response(sender, *, tenant, response, **kwargs) -> None:
    """A counted response adds itself to the rollups in its own transaction (a bounded number of rows,
    apps.metrics.rollups.rollups_add_response), or queues a refresh of the days it reorders; its invitation's
    funnel day is refreshed once it commits. Bot answers are not counted."""
    if response.is_bot:
        return
    from apps.metrics import rollups
    from apps.metrics.tasks import funnel_refresh_for_response, rollups_refresh

    days = rollups.rollups_add_response(tenant, response)
    if days:
        enqueue_on_commit(rollups_refresh, tenant.pk, sorted(d.isoformat() for d in days))
    if response.invitation_id:
        enqueue_on_commit(funnel_refresh_for_response, tenant.pk, response.pk)


@receiver(response_changed, dispatch_uid="metrics.recount_changed_response")
def recount_response(sender, *, tenant, response, scores_changed, **kwargs) -> None:
    """A response recorded from an e-mail click changed its scores (another click, or the form completed it with
    another score): the days it counts in are recomputed from the rows in its transaction, so the rollups are exact
    when it commits (its contribution and its client's transitions changed; a refresh is exact whatever the change).
    Rare — a completion that keeps the clicked score changes no score. Its funnel day stays (it was responded)."""
    if response.is_bot or not scores_changed:
        return
    from apps.metrics import rollups

    rollups.rollups_refresh_days(tenant, rollups.response_affected_days(response))


@receiver(responses_imported, dispatch_uid="metrics.recount_imported_days")
def recount_imported(sender, *, tenant, days, journeys, since, **kwargs) -> None:
    """Imported history: the days it touches are recomputed in the import's transaction (exact when it commits)."""
    from apps.metrics import rollups

    rollups.rollups_refresh_days(tenant, rollups.imported_affected_days(days=days, journeys=journeys, since=since))


@receiver(response_themes_changed, dispatch_uid="metrics.refresh_theme_rollups")
def recount_themes(sender, *, tenant, days, **kwargs) -> None:
    """Comments' themes or sentiment changed: their days' theme statistics are recomputed in the same transaction."""
    from apps.metrics.themes.rollups import theme_rollups_rebuild, theme_rollups_refresh

    if days is None:
        theme_rollups_rebuild(tenant)
    else:
        theme_rollups_refresh(tenant, days)


@receiver(survey_deleted, dispatch_uid="metrics.drop_funnel_of_deleted_survey")
def drop_funnel_rows(sender, *, tenant, survey_id, **kwargs) -> None:
    """Its invitations are gone and it never had responses: its funnel rows go in the same transaction."""
    FunnelRollup.objects.filter(survey_id=survey_id).delete()


@receiver(tenant_time_zone_changed, dispatch_uid="metrics.rebuild_after_time_zone_change")
def queue_rebuild(sender, *, tenant, **kwargs) -> None:
    """Days are cut in the workspace's zone: re-date every response and rebuild the rollups, on commit."""
    from apps.metrics.tasks import rollups_rebuild_task

    transaction.on_commit(lambda: rollups_rebuild_task.delay(tenant.pk, rewrite_local_days=True), robust=True)
