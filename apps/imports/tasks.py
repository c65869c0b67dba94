"""Thin Celery adapters: tenant id and job id in, one service call."""

from apps.imports import services
from apps.tenancy.tasks import tenant_task


@tenant_task(name="imports.review")
def import_job_review_task(tenant, job_id: int) -> str | None:
    job = services.import_job_review(tenant=tenant, job_id=job_id)
    return job.status if job else None


@tenant_task(name="imports.apply")
def import_job_apply_task(tenant, job_id: int) -> str | None:
    job = services.import_job_apply(tenant=tenant, job_id=job_id)
    return job.status if job else None
