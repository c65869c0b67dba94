"""Front-line pages: log an interaction in seconds, the client type-ahead behind it, and My day.

Thin views: parse a form, authorise (decorator), call one service or selector, render. Dates and
times are read and shown in the tenant's time zone.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import error_body
from apps.core.forms import add_service_errors
from apps.tenancy.models import STAFF_AND_UP
from apps.tenancy.permissions import tenant_role_required
from apps.touchpoints.interactions.forms import ClientSearchForm, InteractionLogForm, LogQueryForm, log_form_initial
from apps.touchpoints.interactions.selectors import client_for_log_form, client_search, my_day
from apps.touchpoints.interactions.services import interaction_follow_up_done, interaction_log
from apps.touchpoints.models import Interaction


def in_tenant_time_zone(view):
    """Parse and show dates and times in the tenant's zone (a form's "9:30" is 9:30 at the tenant)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
            return view(request, *args, **kwargs)

    return wrapped


@require_http_methods(["GET", "POST"])
@tenant_role_required(STAFF_AND_UP)
@in_tenant_time_zone
def interaction_log_view(request, tenant_slug):
    staff = request.tenant_access.membership
    query = LogQueryForm(request.GET)
    if not query.is_valid():
        # An unknown or foreign ?client= is an error to show, never silently dropped; nothing is written.
        form = InteractionLogForm(initial=log_form_initial(staff=staff))
        return _render_log(request, form, query, status=400)
    if request.method == "POST":
        form = InteractionLogForm(request.POST)
        if form.is_valid():
            try:
                interaction, created = interaction_log(tenant=request.tenant, staff=staff, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                my_day_url = reverse("interactions:my_day", kwargs={"tenant_slug": tenant_slug})
                text = ("Logged: {} — {}. " if created else "Already saved (sent twice), so nothing new was logged: {} — {}. ")
                messages.success(request, format_html(text + '<a href="{}">See My day</a>', interaction.client.name,
                                                      interaction.get_outcome_display().lower(), my_day_url))
                # Post/redirect/get: an empty form, with this touchpoint remembered as the last one used
                # (or back to the page the form was on, e.g. the staff home).
                return redirect(_next_url(request) or reverse("interactions:log", kwargs={"tenant_slug": tenant_slug}))
        return _render_log(request, form, query, status=400)
    form = InteractionLogForm(initial=log_form_initial(staff=staff, client=query.cleaned_data["client"]))
    return _render_log(request, form, query)


def _next_url(request) -> str | None:
    """The page of this workspace a form came from (`next`, e.g. the staff home), to return to after
    it; None for anything else (another site, another workspace)."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    inside = url.startswith(f"/t/{request.tenant.slug}/")
    if inside and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return None


def _render_log(request, form, query, status=200):
    q = query.cleaned_data.get("q", "") if query.is_valid() else ""
    chosen = client_for_log_form(client=form.chosen_client) if form.chosen_client is not None else None
    context = {
        "form": form,
        "query": query,
        "chosen_client": chosen,
        "q": q,
        "today": timezone.localdate(),
        "next": _next_url(request),
        # The search step without JavaScript (?q=): the type-ahead asks client_search instead.
        "search_results": client_search(query=q) if q and chosen is None else None,
    }
    return render(request, "interactions/log.html", context, status=status)


@tenant_role_required(STAFF_AND_UP)
def client_search_view(request, tenant_slug):
    """JSON for the log form's client type-ahead: up to 10 clients, each with its segment and contacts."""
    form = ClientSearchForm(request.GET)
    if not form.is_valid():
        return JsonResponse(error_body("validation_error", "The request is invalid; see fields.", form.errors.get_json_data()), status=400)
    results = [
        {
            "id": str(client.uuid),
            "name": client.name,
            "segment": client.segment.name if client.segment else "",
            "status": client.get_status_display(),
            "contacts": [{"id": str(c.uuid), "name": c.name, "email": c.email, "role": c.role} for c in client.listed_contacts],
        }
        for client in client_search(query=form.cleaned_data["q"])
    ]
    return JsonResponse({"query": form.cleaned_data["q"], "results": results})


@tenant_role_required(STAFF_AND_UP)
@in_tenant_time_zone
def my_day_view(request, tenant_slug):
    day = my_day(tenant=request.tenant, staff=request.tenant_access.membership)
    return render(request, "interactions/my_day.html", {"day": day})


@require_POST
@tenant_role_required(STAFF_AND_UP)
def follow_up_done_view(request, tenant_slug, uuid):
    """Close a follow-up. The staff member who logged it, or a CX lead or admin; another staff
    member gets 403 (colleagues see each other's interactions, so the row is no secret)."""
    interaction = get_object_or_404(Interaction.objects.select_related("client"), uuid=uuid)
    interaction_follow_up_done(tenant=request.tenant, acting_member=request.tenant_access.membership, interaction=interaction)
    messages.success(request, f"Follow-up with {interaction.client.name} marked done.")
    return redirect(_next_url(request) or reverse("interactions:my_day", kwargs={"tenant_slug": tenant_slug}))
