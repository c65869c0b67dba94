"""Import pages (upload → review → confirm, with progress) and the client export. CX leads and admins."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from apps.clients.forms import ClientFilterForm
from apps.clients.selectors import client_list
from apps.core.forms import add_service_errors
from apps.core.spreadsheets import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from apps.imports import exporting, selectors, services
from apps.imports.forms import ExportFormatForm, UploadForm
from apps.imports.models import ImportJob
from apps.imports.reading import CLIENT_COLUMNS, COLUMNS, CONTACT_COLUMNS, MAX_ROWS, limit_label
from apps.imports.uploads import SizeLimitUploadHandler
from apps.tenancy.context import tenant_context
from apps.tenancy.models import LEADS
from apps.tenancy.permissions import tenant_role_required


def _job_or_404(uuid, **kwargs) -> ImportJob:
    job = selectors.import_job_get(uuid=uuid, **kwargs)
    if job is None:
        raise Http404("No such import.")
    return job


@csrf_exempt  # CSRF is checked below, after the size-limiting upload handler is installed
@tenant_role_required(LEADS)
def import_list(request, tenant_slug):
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    return _import_list(request, tenant_slug)


@csrf_protect
def _import_list(request, tenant_slug):
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None,
                      too_large=getattr(request, "upload_too_large", False))
    if posted and form.is_valid():
        try:
            job = services.import_job_create(tenant=request.tenant, acting_user=request.user,
                                             acting_member=request.tenant_access.membership, uploaded_file=form.cleaned_data["file"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("imports:job", tenant_slug=tenant_slug, uuid=job.uuid)
    context = {
        "form": form,
        "jobs": selectors.import_job_list(),
        "columns": COLUMNS,
        "contact_columns": CONTACT_COLUMNS,
        "client_columns": CLIENT_COLUMNS,
        "limit": limit_label(),
        "max_rows": MAX_ROWS,
    }
    return render(request, "imports/list.html", context, status=400 if form.errors else 200)


@never_cache
@tenant_role_required(LEADS)
def import_job(request, tenant_slug, uuid):
    job = _job_or_404(uuid, with_rejections=True)
    context = {
        "job": job,
        "progress": selectors.import_job_progress(job),
        "rejections": selectors.import_job_rejections_shown(job),
        "rejections_shown": selectors.REJECTIONS_SHOWN,
    }
    return render(request, "imports/job.html", context)


@require_POST
@tenant_role_required(LEADS)
def import_job_confirm(request, tenant_slug, uuid):
    job = _job_or_404(uuid)
    try:
        services.import_job_confirm(tenant=request.tenant, acting_user=request.user,
                                    acting_member=request.tenant_access.membership, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Import confirmed: the rows are being written.")
    return redirect("imports:job", tenant_slug=tenant_slug, uuid=job.uuid)


@require_POST
@tenant_role_required(LEADS)
def import_job_cancel(request, tenant_slug, uuid):
    job = _job_or_404(uuid)
    try:
        services.import_job_cancel(tenant=request.tenant, acting_user=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Import cancelled: nothing was imported.")
    return redirect("imports:job", tenant_slug=tenant_slug, uuid=job.uuid)


@require_GET
@never_cache
@tenant_role_required(LEADS)
def import_job_status(request, tenant_slug, uuid):
    job = _job_or_404(uuid)
    return JsonResponse(selectors.import_job_progress(job).as_json())


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@tenant_role_required(LEADS)
def import_job_rejections(request, tenant_slug, uuid):
    job = _job_or_404(uuid, with_rejections=True)
    response = StreamingHttpResponse(exporting.rejections_stream(job.rejections or []), content_type=CSV_CONTENT_TYPE)
    return _attachment(response, f"rejected-rows-{job.uuid}.csv")


@require_GET
@tenant_role_required(LEADS)
def import_template(request, tenant_slug):
    form = ExportFormatForm(request.GET)
    fmt = form.cleaned_data.get("format") if form.is_valid() else "csv"
    if fmt == "xlsx":
        response = HttpResponse(exporting.xlsx_bytes(exporting.TEMPLATE_ROWS, title="Import"), content_type=XLSX_CONTENT_TYPE)
        return _attachment(response, "clients-import-template.xlsx")
    response = StreamingHttpResponse(exporting.csv_stream(exporting.TEMPLATE_ROWS), content_type=CSV_CONTENT_TYPE)
    return _attachment(response, "clients-import-template.csv")


@require_GET
@tenant_role_required(LEADS)
def export_clients(request, tenant_slug):
    """One row per contact with its client's columns, in the import's layout. The client list's
    filters apply; an unknown or foreign segment/owner uuid is a 400 with the error shown."""
    filters = ClientFilterForm(request.GET)
    fmt_form = ExportFormatForm(request.GET)
    if not filters.is_valid() or not fmt_form.is_valid():
        return render(request, "imports/export_error.html", {"form": filters, "format_form": fmt_form}, status=400)
    fmt = fmt_form.cleaned_data["format"] or "csv"
    rows = selectors.export_rows(client_list(**filters.selector_kwargs()))
    values = selectors.EXPORT_VALUES
    filename = f"{request.tenant.slug}-clients-{timezone.localdate().isoformat()}.{fmt}"
    if fmt == "xlsx":
        data = exporting.xlsx_bytes(exporting.row_cells(row, values) for row in rows.iterator(chunk_size=2000))
        return _attachment(HttpResponse(data, content_type=XLSX_CONTENT_TYPE), filename)

    tenant = request.tenant

    def stream():
        # Streamed after the view returns, so outside the request's tenant transaction: open our own.
        with tenant_context(tenant):
            yield from exporting.csv_stream(exporting.row_cells(row, values) for row in rows.iterator(chunk_size=2000))

    return _attachment(StreamingHttpResponse(stream(), content_type=CSV_CONTENT_TYPE), filename)
