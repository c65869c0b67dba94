"""Reads for imports and exports. The job's file and rejection list are large: lists defer them."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import F, QuerySet
from django.db.models.functions import Lower

from apps.clients.models import Client
from apps.core.progress import Progress
from apps.imports.models import ImportJob
from apps.imports.services import progress_key

HEAVY_FIELDS = ("file_bytes", "rejections")
REJECTIONS_SHOWN = 200
PHASE_LABELS = {
    "reading": "Reading the file",
    "checking": "Checking rows",
    "checking again": "Checking the rows against the latest data",
    "writing": "Writing",
    "done": "Finished",
}


def import_job_list(*, limit: int = 20) -> QuerySet[ImportJob]:
    return ImportJob.objects.defer(*HEAVY_FIELDS).select_related("created_by__user").order_by("-created_at", "-id")[:limit]


def import_job_get(*, uuid, with_rejections: bool = False) -> ImportJob | None:
    qs = ImportJob.objects.select_related("created_by__user", "confirmed_by__user")
    qs = qs.defer("file_bytes") if with_rejections else qs.defer(*HEAVY_FIELDS)
    return qs.filter(uuid=uuid).first()


def import_job_progress(job: ImportJob) -> Progress:
    """How far a job is: live numbers from the cache while a task works, else the stored ones."""
    live = cache.get(progress_key(job)) if job.is_active else None
    if live:
        return Progress(job.status, job.get_status_display(), PHASE_LABELS.get(live["phase"], live["phase"]),
                        live["done"], live["total"], False, "records" if live["phase"] == "writing" else "rows")
    if job.status == ImportJob.Status.DONE:
        return Progress(job.status, job.get_status_display(), PHASE_LABELS["done"], job.rows_total, job.rows_total or 1, True)
    phase = "Waiting for a worker" if job.is_active else job.get_status_display()
    return Progress(job.status, job.get_status_display(), phase, 0, job.rows_total or 1, not job.is_active)


def import_job_rejections_shown(job: ImportJob) -> list[dict]:
    return (job.rejections or [])[:REJECTIONS_SHOWN]


EXPORT_VALUES = {
    "email": "contacts__email", "contact_name": "contacts__name", "phone": "contacts__phone", "locale": "contacts__locale",
    "role": "contacts__role", "opted_out": "contacts__opted_out", "client_name": "name", "segment": "segment__name",
    "tier": "tier", "status": "status", "industry": "industry", "annual_value": "annual_value", "active_from": "active_from",
    "churned_on": "churned_on", "owner_email": "owner__user__email",
}


def export_rows(clients: QuerySet[Client]) -> QuerySet:
    """One row per contact (clients without contacts: one row with empty contact columns), as dicts
    keyed by the import's column names. One query (a LEFT JOIN), whatever the number of rows."""
    return (Client.objects.filter(pk__in=clients.order_by().values("pk"))
            .order_by(Lower("name"), "pk", Lower(F("contacts__name")), "contacts__pk")
            .values(*EXPORT_VALUES.values()))
