"""The staff home (issue 7 page 5; staff and up, each reading only their own): the fast log form
(posting to interactions:log, which comes back here), and one page builder
(apps.dashboards.pages.staff) for my follow-ups, my clients' latest scores and my perception gap,
whose period is the filter bar's (the staff filter forced to me). Its htmx partial is the
perception-gap section; `?csv=` serves any of its tables (apps.reports.rendering)."""

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.pages.staff import staff_home
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import STAFF_AND_UP
from apps.touchpoints.interactions.forms import InteractionLogForm, log_form_initial


@tenant_role_required(STAFF_AND_UP)
def staff_home_view(request, tenant_slug):
    me = request.tenant_access.membership
    state = dashboard_filters(request, fields=(), staff=me)
    page = staff_home(request.tenant, staff=me, filters=state.filters)
    context = {"state": state, "page": page, "log_form": InteractionLogForm(initial=log_form_initial(staff=me))}
    return render_dashboard(request, "dashboards/staff_home.html", context, tables=page.tables, page="home")
