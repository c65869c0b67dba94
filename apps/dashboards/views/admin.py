"""Configuration health, the admin's dashboard (issue 7, page 6; apps.dashboards.pages.admin)."""

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.pages.admin import FIELDS, configuration_health_page
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import ADMINS


@tenant_role_required(ADMINS)
def configuration_health_view(request, tenant_slug):
    state = dashboard_filters(request, fields=FIELDS)
    page = configuration_health_page(request.tenant, state) if state.valid else None
    return render_dashboard(request, "dashboards/admin.html", {"state": state, "page": page},
                            tables=page.tables if page else (), page="health")
