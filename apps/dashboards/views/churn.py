"""Churn and retention dashboard (issue 7 page 3; READERS): the filter bar (period and segment), the
rates' interval, one page builder (apps.dashboards.pages.churn), rendered — or one of its tables as
CSV, or its htmx partial (apps.reports.rendering)."""

from dataclasses import replace

from apps.dashboards.filters import dashboard_filters
from apps.dashboards.forms import ChurnIntervalForm
from apps.dashboards.pages.churn import churn_page
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS


@tenant_role_required(READERS)
def churn_dashboard_view(request, tenant_slug):
    state = dashboard_filters(request, fields=("segment",))
    interval_form = ChurnIntervalForm(request.GET)
    if state.valid and not interval_form.is_valid():
        # A refused interval is refused like a refused filter: 400, the error shown in the filter bar.
        for message in interval_form.errors["interval"]:
            state.form.add_error(None, message)
        state = replace(state, filters=None)
    page = None
    if state.valid:
        page = churn_page(request.tenant, state.filters, interval_name=interval_form.cleaned_data["interval"] or None,
                          filter_query=state.query)
    return render_dashboard(request, "dashboards/churn.html", {"state": state, "page": page},
                            tables=page.tables if page else (), page="churn")
