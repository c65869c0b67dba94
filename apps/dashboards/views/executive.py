"""The executive summary and its PDF (issue 7, page 7; apps.dashboards.pages.executive, apps.reports.pdf).

Viewers land here (apps.tenancy.roles.landing_url_name); CX leads and admins read it too.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.pages.executive import FIELDS, executive_page
from apps.reports.pdf import PdfUnavailable, html_to_pdf
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS

TEMPLATE = "dashboards/executive.html"


@tenant_role_required(READERS)
def executive_view(request, tenant_slug):
    state = dashboard_filters(request, fields=FIELDS)
    page = executive_page(request.tenant, state) if state.valid else None
    return render_dashboard(request, TEMPLATE, {"state": state, "page": page}, tables=page.tables if page else (), page="executive")


@tenant_role_required(READERS)
def executive_pdf_view(request, tenant_slug):
    """The same page, with the same filters, printed to an A4 PDF; refused filters give the page with its
    errors (400), and a PDF that cannot be made the reason in words (503) — never a 500."""
    state = dashboard_filters(request, fields=FIELDS)
    if not state.valid:
        return render_dashboard(request, TEMPLATE, {"state": state, "page": None}, page="executive")
    page = executive_page(request.tenant, state)
    page_path = reverse("dashboards:executive", kwargs={"tenant_slug": request.tenant.slug})
    page_path += f"?{state.query}" if state.query else ""
    html = render_to_string(TEMPLATE, {"state": state, "page": page, "printing": True}, request=request)
    try:
        pdf = html_to_pdf(html, path=page_path)
    except PdfUnavailable as exc:
        response = render(request, "dashboards/executive_pdf_unavailable.html",
                          {"state": state, "reason": str(exc), "page_url": page_path}, status=503)
        response["Retry-After"] = "60"
        return response
    f = state.filters
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-executive-{f.first:%Y-%m-%d}-{f.last:%Y-%m-%d}.pdf"'
    return response
