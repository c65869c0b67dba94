"""Placeholder until this page lands (issue 7, in progress)."""

from django.http import HttpResponse

from apps.dashboards.roles import EVERYONE
from apps.tenancy.permissions import tenant_role_required


@tenant_role_required(EVERYONE)
def perception_gap_view(request, tenant_slug):
    return HttpResponse("This dashboard is being built.")
