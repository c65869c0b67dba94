"""The recovery page (issue 8 item 3): readers see every case, staff only the cases assigned to them."""

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.pages.recovery import FIELDS, recovery_page
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS, Role


@tenant_role_required(READERS | {Role.STAFF})
def recovery_dashboard_view(request, tenant_slug):
    """Staff read the recovery of their own cases only: the staff filter (the case's assignee) is forced
    to their membership and not offered, so no other staff member's numbers or name reach the page."""
    own = request.tenant_access.role not in READERS
    state = dashboard_filters(request, fields=FIELDS, staff=request.tenant_access.membership if own else None)
    page = recovery_page(request.tenant, state, own=own) if state.valid else None
    return render_dashboard(request, "dashboards/recovery.html", {"state": state, "page": page},
                            tables=page.tables if page else (), page="recovery")
