"""Writes for imports: upload → review (a dry run, in a task) → confirm → apply (in a task).

Status transitions happen under `select_for_update()` on the job, so a task delivered twice (a retry,
a redelivery after a worker crash) finds the job already moved on and does nothing: tasks are
idempotent. The apply is one transaction: a failure midway leaves no partial rows.

Progress is written to the cache (Redis in production, shared by web and workers), never to the
database, so it is visible while the apply's transaction is still open.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.imports import planning, reading
from apps.imports.models import MAX_FILE_BYTES, ImportJob, UploadJob
from apps.tenancy.models import Tenant
from apps.tenancy.services import audit_event_record

logger = logging.getLogger(__name__)

PROGRESS_TIMEOUT = 6 * 60 * 60
FAILURE_MESSAGE = "The import failed and nothing was imported. Try again; if it fails again, contact support with this job's id."


def progress_key(job: ImportJob) -> str:
    return f"imports:progress:{job.tenant_id}:{job.uuid}"


def progress_write(job: ImportJob, *, phase: str, done: int, total: int) -> None:
    cache.set(progress_key(job), {"phase": phase, "done": done, "total": max(total, done, 1)}, PROGRESS_TIMEOUT)


def progress_clear(job: ImportJob) -> None:
    cache.delete(progress_key(job))


# --- upload ---------------------------------------------------------------------------------------

def read_upload(uploaded_file) -> bytes:
    if uploaded_file.size is not None and uploaded_file.size > MAX_FILE_BYTES:
        raise ValidationError({"file": f"The file is {uploaded_file.size / (1024 * 1024):.1f} MB; the limit is "
                                       f"{reading.limit_label()}. Split it into smaller files."})
    data = uploaded_file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": f"The file is larger than the {reading.limit_label()} limit. Split it into smaller files."})
    return data


@transaction.atomic
def import_job_create(*, tenant: Tenant, acting_user, acting_member, uploaded_file) -> ImportJob:
    """Store an uploaded file and queue its check and review; the job is "checking the file" until then.

    Only what the size and the first bytes tell (too large, empty, an old .xls, a PDF or an image) is
    answered at once, with nothing stored. The file is never parsed here: a small XLSX can stand for
    minutes of work, which belongs to a worker (`import_job_review`, under reading.py's budget), not to
    the web process; what the reading finds is said on the job's page."""
    data = read_upload(uploaded_file)
    try:
        reading.check_size(data)
        file_format = reading.detect_format(data)
    except reading.FileProblem as exc:
        raise ValidationError({"file": str(exc)}) from None
    job = ImportJob(
        tenant=tenant, created_by=acting_member, file_name=(uploaded_file.name or "upload")[:255], format=file_format,
        file_bytes=data, file_size=len(data), sha256=hashlib.sha256(data).hexdigest(),
    )
    job.full_clean(exclude=["created_by", "confirmed_by", "file_bytes"])
    job.save()
    from apps.imports.tasks import import_job_review_task
    from apps.tenancy.tasks import enqueue_on_commit

    enqueue_on_commit(import_job_review_task, tenant.pk, job.pk)
    return job


# --- review (the dry run) -------------------------------------------------------------------------

def _plan(job: ImportJob, *, phase: str) -> tuple[reading.Sheet, planning.Plan]:
    """Read the whole file (reading.py's checks and budget) and decide every row."""
    progress_write(job, phase="reading", done=0, total=max(job.rows_total, 1))
    sheet = reading.check_upload(bytes(job.file_bytes))
    estimate = max(sheet.row_estimate, 1)
    plan = planning.plan_rows(
        tenant=job.tenant, rows=sheet.rows, today=timezone.localdate(),
        progress=lambda done: progress_write(job, phase=phase, done=done, total=max(estimate, done)),
    )
    if plan.rows_total == 0:
        raise reading.FileProblem("The file has a header row but no data rows.")
    return sheet, plan


def _store_review(job: ImportJob, sheet: reading.Sheet, plan: planning.Plan) -> None:
    job.rows_total = plan.rows_total
    job.rows_done = 0
    job.to_create, job.to_update, job.unchanged, job.rejected = plan.to_create, plan.to_update, plan.unchanged, plan.rejected
    job.rejections = plan.rejections
    job.summary = {**job.summary, "ignored_columns": sheet.ignored, "delimiter": sheet.delimiter_label,
                   "columns": list(sheet.columns), **plan.summary()}
    job.plan_digest = plan.digest
    job.reviewed_at = timezone.now()
    job.status = ImportJob.Status.REVIEW


def upload_job_fail(job: UploadJob, message: str) -> None:
    """End a job (any UploadJob: this import's or the surveys' history import) as failed, nothing imported."""
    job.status = UploadJob.Status.FAILED
    job.error_message = message
    job.finished_at = timezone.now()
    job.save()
    progress_clear(job)


def import_job_review(*, tenant: Tenant, job_id: int) -> ImportJob | None:
    """Check the file as a whole (a refused file fails the job with the reason), then the dry run:
    decide every row against the current data and store the counts and the rejected rows with their
    reasons. Writes nothing but the job. A second delivery of the task is a no-op."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.VALIDATING:
        return job
    try:
        sheet, plan = _plan(job, phase="checking")
        problem = None
    except reading.FileProblem as exc:
        sheet, plan, problem = None, None, str(exc)
    except Exception:  # a bug must not leave the page polling forever
        logger.exception("review of import %s failed", job_id)
        plan, problem = None, FAILURE_MESSAGE
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportJob.Status.VALIDATING:  # cancelled meanwhile, or reviewed by another delivery
            return job
        if problem:
            upload_job_fail(job, problem)
            return job
        _store_review(job, sheet, plan)
        job.save()
    progress_clear(job)
    return job


# --- confirm, cancel ------------------------------------------------------------------------------

@transaction.atomic
def import_job_confirm(*, tenant: Tenant, acting_user, acting_member, job: ImportJob) -> ImportJob:
    """Apply what the review showed (in a task). Only a job in review can be confirmed, once."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.REVIEW:
        raise ValidationError(f"This import cannot be confirmed: it is {job.get_status_display().lower()}.")
    job.status = ImportJob.Status.IMPORTING
    job.confirmed_by = acting_member
    job.confirmed_at = timezone.now()
    job.notice = ""
    job.save(update_fields=["status", "confirmed_by", "confirmed_at", "notice", "updated_at"])
    progress_write(job, phase="writing", done=0, total=job.rows_total)
    audit_event_record(tenant=tenant, acting_user=acting_user, action="import.confirmed", target=job, target_label=job.file_name,
                       changes={"create": [None, job.to_create], "update": [None, job.to_update],
                                "unchanged": [None, job.unchanged], "reject": [None, job.rejected]})
    from apps.imports.tasks import import_job_apply_task
    from apps.tenancy.tasks import enqueue_on_commit

    enqueue_on_commit(import_job_apply_task, tenant.pk, job.pk)
    return job


@transaction.atomic
def import_job_cancel(*, tenant: Tenant, acting_user, job: ImportJob) -> ImportJob:
    return upload_job_cancel(job)


def upload_job_cancel(job: UploadJob) -> UploadJob:
    """Cancel a job before it is confirmed (any UploadJob; call inside a transaction): nothing is imported."""
    job = type(job).objects.select_for_update().get(pk=job.pk)
    if not job.is_cancellable:
        raise ValidationError(f"This import cannot be cancelled: it is {job.get_status_display().lower()}.")
    job.status = UploadJob.Status.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "updated_at"])
    progress_clear(job)
    return job


# --- apply ----------------------------------------------------------------------------------------

def import_job_apply(*, tenant: Tenant, job_id: int) -> ImportJob | None:
    """Recompute the plan against the data as it is now and, if it is exactly what was reviewed,
    write it in one transaction. If the data changed since the review, the job goes back to review
    with the new counts. Any failure rolls every row back and marks the job failed."""
    try:
        with transaction.atomic():
            # Locked for the whole apply: a second delivery of the task waits here, then sees "done".
            job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
            if job is None or job.status != ImportJob.Status.IMPORTING:
                return job
            sheet, plan = _plan(job, phase="checking again")
            if plan.digest != job.plan_digest:
                _store_review(job, sheet, plan)
                job.notice = "The data changed since this file was reviewed. The counts below are up to date: review them and confirm again."
                job.save()
                progress_clear(job)
                return job
            planning.apply_plan(plan, progress=lambda done, total: progress_write(job, phase="writing", done=done, total=total))
            job.status = ImportJob.Status.DONE
            job.rows_done = job.rows_total
            job.finished_at = timezone.now()
            job.save()
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status == ImportJob.Status.IMPORTING:
                message = str(exc) if isinstance(exc, reading.FileProblem) else FAILURE_MESSAGE
                upload_job_fail(job, message)
        return job
    progress_write(job, phase="done", done=job.rows_total, total=job.rows_total)
    return job
