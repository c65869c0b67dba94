"""Touchpoint pages: the list (everyone), create/edit/archive/restore/delete (CX leads and admins)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.tenancy.models import EVERYONE, LEADS
from apps.tenancy.permissions import tenant_role_required
from apps.touchpoints.models import Touchpoint
from apps.touchpoints.touchpoints import services
from apps.touchpoints.touchpoints.filters import TouchpointFilter
from apps.touchpoints.touchpoints.forms import TouchpointForm
from apps.touchpoints.touchpoints.selectors import ACTIVITY_DAYS, touchpoint_list

PAGE_SIZE = 50


@tenant_role_required(EVERYONE)
def touchpoint_list_view(request, tenant_slug):
    filterset = TouchpointFilter(request.GET or None, queryset=touchpoint_list())
    valid = filterset.is_valid() if filterset.is_bound else True
    # An unknown or foreign team uuid is an error shown on the form, never silently ignored.
    rows = filterset.qs if valid else Touchpoint.objects.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter_form": filterset.form, "page": page, "activity_days": ACTIVITY_DAYS, "query": query.urlencode()}
    return render(request, "touchpoints/list.html", context, status=200 if valid else 400)


@tenant_role_required(LEADS)
def touchpoint_create_view(request, tenant_slug):
    form = TouchpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            touchpoint = services.touchpoint_create(tenant=request.tenant, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Touchpoint “{touchpoint.name}” created.")
            return redirect("touchpoints:list", tenant_slug=tenant_slug)
    return render(request, "touchpoints/form.html", {"form": form, "touchpoint": None}, status=400 if form.errors else 200)


@tenant_role_required(LEADS)
def touchpoint_edit_view(request, tenant_slug, uuid):
    touchpoint = get_object_or_404(Touchpoint.objects.select_related("team"), uuid=uuid)
    initial = {"name": touchpoint.name, "channel": touchpoint.channel, "team": touchpoint.team,
               "description": touchpoint.description, "is_key": touchpoint.is_key}
    form = TouchpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.touchpoint_update(tenant=request.tenant, acting_user=request.user, touchpoint=touchpoint, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Touchpoint “{form.cleaned_data['name']}” saved.")
            return redirect("touchpoints:list", tenant_slug=tenant_slug)
    context = {"form": form, "touchpoint": touchpoint, "has_interactions": touchpoint.interactions.exists()}
    return render(request, "touchpoints/form.html", context, status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def touchpoint_archive_view(request, tenant_slug, uuid):
    touchpoint = get_object_or_404(Touchpoint, uuid=uuid)
    services.touchpoint_archive(tenant=request.tenant, acting_user=request.user, touchpoint=touchpoint)
    messages.success(request, f"“{touchpoint.name}” archived: staff no longer see it when logging; its history stays.")
    return redirect("touchpoints:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(LEADS)
def touchpoint_restore_view(request, tenant_slug, uuid):
    touchpoint = get_object_or_404(Touchpoint, uuid=uuid)
    services.touchpoint_restore(tenant=request.tenant, acting_user=request.user, touchpoint=touchpoint)
    messages.success(request, f"“{touchpoint.name}” restored.")
    return redirect("touchpoints:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(LEADS)
def touchpoint_delete_view(request, tenant_slug, uuid):
    touchpoint = get_object_or_404(Touchpoint, uuid=uuid)
    try:
        services.touchpoint_delete(tenant=request.tenant, acting_user=request.user, touchpoint=touchpoint)
    except services.TouchpointInUse as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("touchpoints:edit", tenant_slug=tenant_slug, uuid=touchpoint.uuid)
    messages.success(request, f"Touchpoint “{touchpoint.name}” deleted.")
    return redirect("touchpoints:list", tenant_slug=tenant_slug)
