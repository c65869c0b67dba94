"""The CX lead overview (issue 7, page 1): /t/<slug>/dashboards/, for admins, CX leads and viewers.

Thin: parse the filter bar and the page's options, call the page builder
(apps.dashboards.pages.overview), render — or answer a CSV of one table, or the htmx fragment
(apps.reports.rendering). Refused input answers 400 with the errors above the filter bar.
"""

from django.views.decorators.http import require_GET

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.pages.overview import overview_options, overview_page
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS


@require_GET
@tenant_role_required(READERS)
def overview_view(request, tenant_slug):
    state, options = overview_options(dashboard_filters(request), request.GET)
    page = overview_page(request.tenant, state, options) if state.valid else None
    context = {"state": state, "options": options, "page": page}
    return render_dashboard(request, "dashboards/overview.html", context, tables=page.tables if page else (), page="overview")
