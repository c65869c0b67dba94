"""Writes of a response-history import: upload → review (a dry run, in a task) → confirm → apply (in a task).

The same state machine as the client import (apps.imports.services, whose upload checks and progress it uses):
transitions under `select_for_update()` on the job, so a task delivered twice does nothing the second time; the
apply is one transaction (nothing partial); progress lives in the cache so it shows while that transaction is
open. The lead may change the mapping (columns → questions and roles), the zone or the touchpoint while the job
is in review: the review runs again.

What an import does not do: imported responses are history, so no alert rule opens a case, no webhook is
called and no invitation's funnel moves. Their days' rollups are recomputed in the import's transaction
(`responses_imported`); their comments are analysed (language, sentiment, themes) by a task once it commits.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.events import responses_imported
from apps.imports import reading
from apps.imports.services import FAILURE_MESSAGE, progress_clear, progress_write, read_upload, upload_job_cancel, upload_job_fail
from apps.surveys.history import layouts, planning
from apps.surveys.models import Question, ResponseImport, Survey
from apps.tenancy.models import Tenant
from apps.tenancy.services import audit_event_record

logger = logging.getLogger(__name__)


class _PlanChanged(Exception):
    """The data changed since the review: roll the apply back and review again."""

    def __init__(self, plan, header, problem: str):
        self.plan, self.header, self.problem = plan, header, problem


def _enqueue(task, tenant: Tenant, job: ResponseImport) -> None:
    from apps.tenancy.tasks import enqueue_on_commit

    enqueue_on_commit(task, tenant.pk, job.pk)


@transaction.atomic
def response_import_create(*, tenant: Tenant, acting_member, survey: Survey, uploaded_file, layout: str = "auto",
                           time_zone: str = "", touchpoint=None) -> ResponseImport:
    """Store an uploaded file for the survey's published version and queue its review. Only what the size and
    the first bytes tell is answered at once (nothing stored then); the reading happens in the task."""
    version = survey.current_version
    if version is None:
        raise ValidationError({"survey": "Publish the survey first: past responses are imported into its published version."})
    if touchpoint is not None and touchpoint.tenant_id != tenant.pk:
        raise ValidationError({"touchpoint": "No such touchpoint."})
    data = read_upload(uploaded_file)
    try:
        reading.check_size(data)
        file_format = reading.detect_format(data)
    except reading.FileProblem as exc:
        raise ValidationError({"file": str(exc)}) from None
    job = ResponseImport(
        tenant=tenant, created_by=acting_member, survey=survey, version=version, touchpoint=touchpoint, layout=layout or "auto",
        time_zone=time_zone or tenant.time_zone, file_name=(uploaded_file.name or "upload")[:255], format=file_format,
        file_bytes=data, file_size=len(data), sha256=hashlib.sha256(data).hexdigest(),
    )
    job.full_clean(exclude=["created_by", "confirmed_by", "file_bytes"])
    job.save()
    from apps.surveys.tasks import response_import_review_task

    _enqueue(response_import_review_task, tenant, job)
    return job


# --- review -----------------------------------------------------------------------------------------

def _questions(job: ResponseImport) -> list[Question]:
    return list(Question.objects.filter(version_id=job.version_id).order_by("order"))


def _header(job: ResponseImport) -> layouts.Header:
    table = reading.open_table(bytes(job.file_bytes))
    try:
        header = layouts.read_header(table.rows, layout=job.layout)
    except ValueError as exc:
        raise reading.FileProblem(str(exc)) from None
    header.delimiter = table.delimiter_label
    return header


def _planner(job: ResponseImport, header: layouts.Header, questions: list[Question]) -> planning.Planner:
    return planning.Planner(job=job, header=header, questions=questions, snapshot=planning.load_snapshot(job),
                            now=timezone.now(), tenant_zone=job.tenant.time_zone)


def _plan(job: ResponseImport, *, phase: str, write=None):
    """Read the file and decide every row; (header, plan, problem with the mapping or "")."""
    progress_write(job, phase="reading", done=0, total=max(job.rows_total, 1))
    header = _header(job)
    questions = _questions(job)
    if not job.mapping:
        job.mapping = layouts.propose(header, questions)
    problem = planning.mapping_problem(job.mapping, questions, header.width)
    if problem:
        return header, planning.Plan(), problem
    total = max(job.rows_total, 1)
    plan = planning.plan_rows(_planner(job, header, questions), write=write,
                              progress=lambda done: progress_write(job, phase=phase, done=done, total=max(total, done)))
    if plan.rows_total == 0:
        raise reading.FileProblem("The file has a header but no rows of responses.")
    return header, plan, ""


def _store_review(job: ResponseImport, header: layouts.Header, plan: planning.Plan, problem: str) -> None:
    job.detected_layout = header.layout.key
    job.rows_total, job.rows_done = plan.rows_total, 0
    job.to_create, job.unchanged, job.rejected = plan.to_create, plan.unchanged, plan.rejected
    job.rejections = plan.rejections
    job.summary = {"columns": header.labels, "groups": {str(k): v for k, v in header.groups.items() if len(v) > 1},
                   "declared_zone": header.declared_zone, "delimiter": header.delimiter,
                   "mapping_problem": problem, **plan.summary()}
    job.plan_digest = plan.digest
    job.reviewed_at = timezone.now()
    job.status = ResponseImport.Status.REVIEW


def response_import_review(*, tenant: Tenant, job_id: int) -> ResponseImport | None:
    """The dry run: decide every row against the current data; store counts, rejections with reasons and the
    mapping used. Writes nothing but the job. A second delivery of the task is a no-op."""
    job = ResponseImport.objects.select_related("survey", "tenant").filter(pk=job_id).first()
    if job is None or job.status != ResponseImport.Status.VALIDATING:
        return job
    try:
        header, plan, mapping_problem = _plan(job, phase="checking")
        problem = None
    except reading.FileProblem as exc:
        problem = str(exc)
    except Exception:  # a bug must not leave the page polling forever
        logger.exception("review of response import %s failed", job_id)
        problem = FAILURE_MESSAGE
    mapping = job.mapping
    with transaction.atomic():
        job = ResponseImport.objects.select_for_update().get(pk=job_id)
        if job.status != ResponseImport.Status.VALIDATING:
            return job
        if problem:
            upload_job_fail(job, problem)
            return job
        job.mapping = mapping
        _store_review(job, header, plan, mapping_problem)
        job.save()
    progress_clear(job)
    return job


@transaction.atomic
def response_import_change(*, tenant: Tenant, job: ResponseImport, mapping: dict[str, int], time_zone: str,
                           touchpoint) -> ResponseImport:
    """New choices for a job in review (columns, zone, touchpoint): checked again by the review task."""
    job = ResponseImport.objects.select_for_update().get(pk=job.pk)
    if job.status != ResponseImport.Status.REVIEW:
        raise ValidationError(f"This import cannot be changed: it is {job.get_status_display().lower()}.")
    job.mapping, job.time_zone, job.touchpoint = mapping, time_zone, touchpoint
    job.status = ResponseImport.Status.VALIDATING
    job.notice = ""
    job.full_clean(exclude=["created_by", "confirmed_by", "file_bytes"])
    job.save()
    from apps.surveys.tasks import response_import_review_task

    _enqueue(response_import_review_task, tenant, job)
    return job


# --- confirm, cancel ----------------------------------------------------------------------------------

@transaction.atomic
def response_import_confirm(*, tenant: Tenant, acting_user, acting_member, job: ResponseImport) -> ResponseImport:
    job = ResponseImport.objects.select_for_update().get(pk=job.pk)
    if job.status != ResponseImport.Status.REVIEW:
        raise ValidationError(f"This import cannot be confirmed: it is {job.get_status_display().lower()}.")
    if job.summary.get("mapping_problem") or not job.to_create:
        raise ValidationError("There is nothing to import: " + (job.summary.get("mapping_problem") or "no row would create a response."))
    job.status = ResponseImport.Status.IMPORTING
    job.confirmed_by, job.confirmed_at, job.notice = acting_member, timezone.now(), ""
    job.save(update_fields=["status", "confirmed_by", "confirmed_at", "notice", "updated_at"])
    progress_write(job, phase="writing", done=0, total=job.rows_total)
    audit_event_record(tenant=tenant, acting_user=acting_user, action="responses.import_confirmed", target=job,
                       target_label=job.file_name, changes={"create": [None, job.to_create], "unchanged": [None, job.unchanged],
                                                            "reject": [None, job.rejected]})
    from apps.surveys.tasks import response_import_apply_task

    _enqueue(response_import_apply_task, tenant, job)
    return job


@transaction.atomic
def response_import_cancel(*, tenant: Tenant, job: ResponseImport) -> ResponseImport:
    return upload_job_cancel(job)


# --- apply ----------------------------------------------------------------------------------------------

def response_import_apply(*, tenant: Tenant, job_id: int) -> ResponseImport | None:
    """Decide every row again and write the accepted ones, batch by batch, in one transaction; if the plan is not
    exactly the reviewed one, roll back and return to review with the new counts. Any failure rolls every row
    back and fails the job. Afterwards the comments are analysed by a task."""
    writer = None
    try:
        with transaction.atomic():
            job = ResponseImport.objects.select_for_update().select_related("survey", "tenant").filter(pk=job_id).first()
            if job is None or job.status != ResponseImport.Status.IMPORTING:
                return job
            writer = planning.Writer(_questions(job), tenant.pk)
            header, plan, problem = _plan(job, phase="writing", write=writer)
            writer.flush()
            if problem or plan.digest != job.plan_digest:
                raise _PlanChanged(plan, header, problem)
            if writer.written:
                responses_imported.send(sender=ResponseImport, tenant=tenant, days=sorted(writer.days),
                                        journeys=sorted(writer.journeys), since=writer.earliest)
            job.status = ResponseImport.Status.DONE
            job.rows_done = job.rows_total
            job.finished_at = timezone.now()
            job.summary = {**job.summary, "created": writer.written}
            job.save()
    except _PlanChanged as changed:
        with transaction.atomic():
            job = ResponseImport.objects.select_for_update().get(pk=job_id)
            _store_review(job, changed.header, changed.plan, changed.problem)
            job.notice = "The data changed since this file was reviewed. The counts below are up to date: review them and confirm again."
            job.save()
        progress_clear(job)
        return job
    except Exception as exc:
        logger.exception("response import %s failed", job_id)
        with transaction.atomic():
            job = ResponseImport.objects.select_for_update().get(pk=job_id)
            if job.status == ResponseImport.Status.IMPORTING:
                upload_job_fail(job, str(exc) if isinstance(exc, reading.FileProblem) else FAILURE_MESSAGE)
        return job
    progress_write(job, phase="done", done=job.rows_total, total=job.rows_total)
    if writer is not None and writer.commented:
        from apps.surveys.tasks import analyse_imported_comments
        from apps.tenancy.tasks import enqueue_on_commit

        enqueue_on_commit(analyse_imported_comments, tenant.pk)
    return job
