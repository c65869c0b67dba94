"""The perception gap page (issue 7 page 4): readers see everyone, staff only themselves."""

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.pages.perception import perception_page
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS, Role


@tenant_role_required(READERS | {Role.STAFF})
def perception_gap_view(request, tenant_slug):
    """Staff read their own pairs only: the staff filter is forced to their membership (and not offered),
    so no other staff member's numbers or name reach the page. Readers filter freely."""
    own = request.tenant_access.role not in READERS
    state = dashboard_filters(request, staff=request.tenant_access.membership if own else None)
    page = perception_page(request.tenant, state, own=own) if state.valid else None
    return render_dashboard(request, "dashboards/perception_gap.html", {"state": state, "page": page},
                            tables=page.tables if page else (), page="perception-gap")
