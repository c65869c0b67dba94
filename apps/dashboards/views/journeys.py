"""The journey view (issue 7 page 2): the journey map with each stage's scores, for READERS."""

from apps.dashboards.pages.journeys import journey_filters, journey_page
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS


@tenant_role_required(READERS)
def journey_dashboard_view(request, tenant_slug):
    """Parse the filter bar (journey, period, segment, channel, metric), build the page, render it (or its
    htmx fragment, or one of its tables as CSV; refused filters answer 400 with the errors shown)."""
    state = journey_filters(request)
    page = journey_page(request.tenant, state) if state.valid else None
    return render_dashboard(request, "dashboards/journeys.html", {"state": state, "page": page},
                            tables=page.tables if page else (), page="journeys")
