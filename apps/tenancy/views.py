"""Tenant administration pages: settings, members, teams, API keys, audit log (the members page with its
invitations is accounts' workspace_views.py, under the same `tenancy:` names).

Thin views: parse a form, authorise (decorator), call one service or selector, render.
"""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.tenancy import selectors, services
from apps.tenancy.forms import ApiKeyForm, AuditFilterForm, MemberForm, TeamForm, TenantSettingsForm
from apps.tenancy.models import ADMINS, EVERYONE, ApiKey, Membership, Team
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import landing_url_name


@tenant_role_required(EVERYONE)
def tenant_home(request, tenant_slug):
    """The workspace's front door: the dashboard made for the member's role (apps.tenancy.roles)."""
    return redirect(landing_url_name(request.tenant_access.role), tenant_slug=tenant_slug)


@tenant_role_required(ADMINS)
def tenant_settings(request, tenant_slug):
    # A copy: validating a ModelForm writes the input onto its instance, and request.tenant must keep
    # showing the saved settings (header, switcher) when the input is refused.
    form = TenantSettingsForm(request.POST or None, instance=copy.copy(request.tenant))
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_update(tenant=request.tenant, acting_user=request.user,
                                   data={k: form.cleaned_data[k] for k in form.Meta.fields})
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("tenancy:settings", tenant_slug=tenant_slug)
    return render(request, "tenancy/settings.html", {"form": form}, status=400 if form.errors else 200)


@tenant_role_required(ADMINS)
def member_edit(request, tenant_slug, uuid):
    membership = get_object_or_404(Membership.objects.select_related("user", "team"), uuid=uuid)
    initial = {"role": membership.role, "team": membership.team}
    form = MemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_update(tenant=request.tenant, acting_user=request.user, membership=membership,
                                       role=form.cleaned_data["role"], team=form.cleaned_data["team"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{membership.user.email} updated.")
            return redirect("tenancy:members", tenant_slug=tenant_slug)
    return render(request, "tenancy/member_edit.html", {"form": form, "member": membership},
                  status=400 if form.errors else 200)


@require_POST
@tenant_role_required(ADMINS)
def member_deactivate(request, tenant_slug, uuid):
    membership = get_object_or_404(Membership, uuid=uuid)
    if membership.user_id == request.user.pk:
        messages.error(request, "You cannot deactivate yourself.")
        return redirect("tenancy:members", tenant_slug=tenant_slug)
    try:
        services.membership_deactivate(tenant=request.tenant, acting_user=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Member deactivated; their sessions have ended.")
    return redirect("tenancy:members", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(ADMINS)
def member_reactivate(request, tenant_slug, uuid):
    membership = get_object_or_404(Membership, uuid=uuid)
    services.membership_reactivate(tenant=request.tenant, acting_user=request.user, membership=membership)
    messages.success(request, "Member reactivated.")
    return redirect("tenancy:members", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(ADMINS)
def team_create(request, tenant_slug):
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = services.team_create(tenant=request.tenant, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "Team not created: " + " ".join(exc.messages))
        else:
            messages.success(request, f"Team “{team.name}” created.")
    else:
        messages.error(request, "Team not created: a name is required (at most 80 characters).")
    return redirect("tenancy:members", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(ADMINS)
def team_delete(request, tenant_slug, uuid):
    team = get_object_or_404(Team, uuid=uuid)
    services.team_delete(tenant=request.tenant, acting_user=request.user, team=team)
    messages.success(request, f"Team “{team.name}” deleted; its members keep their roles.")
    return redirect("tenancy:members", tenant_slug=tenant_slug)


@tenant_role_required(ADMINS)
def api_key_list(request, tenant_slug):
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            api_key, new_key = services.api_key_create(tenant=request.tenant, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = ApiKeyForm()
    context = {"form": form, "api_keys": selectors.api_key_list(), "new_key": new_key}
    # The secret is rendered in this response only, never stored: the page must not be cached.
    response = render(request, "tenancy/api_keys.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_role_required(ADMINS)
def api_key_revoke(request, tenant_slug, uuid):
    api_key = get_object_or_404(ApiKey, uuid=uuid)
    services.api_key_revoke(tenant=request.tenant, acting_user=request.user, api_key=api_key)
    messages.success(request, f"Key “{api_key.name}” revoked.")
    return redirect("tenancy:api_keys", tenant_slug=tenant_slug)


@tenant_role_required(ADMINS)
def audit_log(request, tenant_slug):
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_action_list())
    filters = form.cleaned_data if form.is_valid() else {}
    events = selectors.audit_event_list(action=filters.get("action"), actor_email=filters.get("actor"))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "tenancy/audit.html", {"form": form, "page": page})
