"""The Client 360 page (issue 19 item 6; everyone in the workspace, staff for the clients they own only):
one page builder (apps.dashboards.pages.client360), rendered in the workspace's time zone — or one of its
tables as CSV (`?csv=<table id>`, apps.reports.rendering). `?month=YYYY-MM` limits the answers to a month
(the history table's links), `?page=` pages them."""

import zoneinfo

from django.http import Http404
from django.utils import timezone

from apps.dashboards.pages.client360 import client360_page, client_for_reader, parse_metric, parse_month
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import EVERYONE


@tenant_role_required(EVERYONE)
def client360_view(request, tenant_slug, uuid):
    """A client the reader may not see answers 404, exactly as a missing one (a staff member's view of another
    staff member's client included): its existence is not told."""
    access = request.tenant_access
    client = client_for_reader(uuid=uuid, role=access.role, member=access.membership)
    if client is None:
        raise Http404("No such client.")
    with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
        page = client360_page(request.tenant, client, role=access.role, member=access.membership,
                              month=parse_month(request.GET.get("month")), metric=parse_metric(request.GET.get("answered")),
                              page_number=request.GET.get("page"))
        return render_dashboard(request, "dashboards/client360.html", {"page": page, "client": client}, tables=page.tables,
                                page=f"client360-{client.uuid}")
