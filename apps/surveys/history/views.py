"""Importing past responses into a survey (upload → review and mapping → confirm, with progress). CX leads and admins."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from apps.core.forms import add_service_errors
from apps.core.spreadsheets import CSV_CONTENT_TYPE, csv_rows
from apps.imports.exporting import rejections_stream
from apps.imports.reading import MAX_ROWS, limit_label
from apps.imports.selectors import import_job_progress
from apps.imports.uploads import SizeLimitUploadHandler
from apps.surveys.history import selectors, services
from apps.surveys.history.forms import HistoryUploadForm, MappingForm
from apps.surveys.history.layouts import LAYOUT_LABELS
from apps.surveys.models import ResponseImport, Survey
from apps.tenancy.models import LEADS
from apps.tenancy.permissions import tenant_role_required


def _survey(uuid) -> Survey:
    return get_object_or_404(Survey.objects.select_related("current_version", "touchpoint"), uuid=uuid)


def _job_or_404(uuid, **kwargs) -> ResponseImport:
    job = selectors.response_import_get(uuid=uuid, **kwargs)
    if job is None:
        raise Http404("No such import.")
    return job


def _job_redirect(tenant_slug, job):
    return redirect("history:job", tenant_slug=tenant_slug, uuid=job.uuid)


@csrf_exempt  # CSRF is checked below, after the size-limiting upload handler is installed
@tenant_role_required(LEADS)
def history_upload(request, tenant_slug, uuid):
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    return _history_upload(request, tenant_slug, uuid)


@csrf_protect
def _history_upload(request, tenant_slug, uuid):
    survey = _survey(uuid)
    posted = request.method == "POST"
    form = HistoryUploadForm(request.POST if posted else None, request.FILES if posted else None,
                             too_large=getattr(request, "upload_too_large", False), initial={"time_zone": request.tenant.time_zone})
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.response_import_create(
                tenant=request.tenant, acting_member=request.tenant_access.membership, survey=survey, uploaded_file=data["file"],
                layout=data["layout"], time_zone=data["time_zone"], touchpoint=data["touchpoint"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _job_redirect(tenant_slug, job)
    context = {"survey": survey, "heading": f"Import past responses into “{survey.name}”", "form": form,
               "jobs": selectors.response_import_list(survey=survey), "limit": limit_label(), "max_rows": MAX_ROWS}
    return render(request, "surveys/history/upload.html", context, status=400 if form.errors else 200)


@never_cache
@tenant_role_required(LEADS)
def history_job(request, tenant_slug, uuid):
    job = _job_or_404(uuid, with_rejections=True)
    questions = selectors.version_questions(job)
    form = None
    if job.status == ResponseImport.Status.REVIEW:
        form = MappingForm(columns=job.summary.get("columns", []), questions=questions, mapping=job.mapping,
                           initial={"time_zone": job.time_zone, "touchpoint": job.touchpoint_id})
    return render(request, "surveys/history/job.html", _job_context(job, questions, form))


def _job_context(job, questions, form) -> dict:
    return {"job": job, "survey": job.survey, "progress": import_job_progress(job), "form": form,
            "rejections": (job.rejections or [])[:selectors.REJECTIONS_SHOWN], "mapped": selectors.mapping_rows(job, questions),
            "layout_label": LAYOUT_LABELS.get(job.detected_layout, "")}


@require_POST
@tenant_role_required(LEADS)
def history_job_change(request, tenant_slug, uuid):
    job = _job_or_404(uuid, with_rejections=True)
    questions = selectors.version_questions(job)
    form = MappingForm(request.POST, columns=job.summary.get("columns", []), questions=questions, mapping=job.mapping)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.response_import_change(tenant=request.tenant, job=job, mapping=data["mapping"], time_zone=data["time_zone"],
                                            touchpoint=data["touchpoint"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Choices saved: every row is being checked again.")
            return _job_redirect(tenant_slug, job)
    return render(request, "surveys/history/job.html", _job_context(job, questions, form), status=400)


@require_POST
@tenant_role_required(LEADS)
def history_job_confirm(request, tenant_slug, uuid):
    job = _job_or_404(uuid)
    try:
        services.response_import_confirm(tenant=request.tenant, acting_user=request.user,
                                         acting_member=request.tenant_access.membership, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Import confirmed: the responses are being written.")
    return _job_redirect(tenant_slug, job)


@require_POST
@tenant_role_required(LEADS)
def history_job_cancel(request, tenant_slug, uuid):
    job = _job_or_404(uuid)
    try:
        services.response_import_cancel(tenant=request.tenant, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Import cancelled: nothing was imported.")
    return _job_redirect(tenant_slug, job)


@require_GET
@never_cache
@tenant_role_required(LEADS)
def history_job_status(request, tenant_slug, uuid):
    return JsonResponse(import_job_progress(_job_or_404(uuid)).as_json())


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@tenant_role_required(LEADS)
def history_job_rejections(request, tenant_slug, uuid):
    job = _job_or_404(uuid, with_rejections=True)
    response = StreamingHttpResponse(rejections_stream(job.rejections or []), content_type=CSV_CONTENT_TYPE)
    return _attachment(response, f"rejected-responses-{job.uuid}.csv")


@require_GET
@tenant_role_required(LEADS)
def history_template(request, tenant_slug, uuid):
    """The generic layout for this survey: the role columns, a column per question key, and one example row."""
    survey = _survey(uuid)
    if survey.current_version_id is None:
        raise Http404("The survey has no published version.")
    questions = list(survey.current_version.questions.order_by("order"))
    header = ["response_id", "email", "submitted_at", "touchpoint", "segment", "language", *[q.key for q in questions]]
    example = ["R-1001", "", "2024-03-31 14:05", "", "", survey.default_language, *["" for _ in questions]]
    response = StreamingHttpResponse(csv_rows(header, [example]), content_type=CSV_CONTENT_TYPE)
    return _attachment(response, f"{survey.uuid}-history-template.csv")
