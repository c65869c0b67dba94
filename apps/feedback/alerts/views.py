"""Case configuration pages (namespace `alerts`): alert rules and the root-cause taxonomy. Admins change
them; CX leads read them (a lead's POST answers 403); staff and viewers do not see them."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.feedback.alerts import services
from apps.feedback.alerts.forms import THRESHOLD_HELP, AlertRuleForm, RootCauseForm
from apps.feedback.cases.selectors import OPEN_STATUSES
from apps.feedback.models import AlertRule, Case, RootCause
from apps.tenancy.models import ADMINS, LEADS
from apps.tenancy.permissions import tenant_role_required


def _status(form) -> int:
    return 400 if form is not None and form.errors else 200


def _is_admin(request) -> bool:
    return request.tenant_access.role in ADMINS


# --- alert rules --------------------------------------------------------------------------------

@tenant_role_required(LEADS)
def rule_list_view(request, tenant_slug):
    rules = (AlertRule.objects.select_related("assignee__user", "team", "touchpoint", "survey", "recovery_survey")
             .annotate(open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)), all_cases=Count("cases"))
             .order_by("-is_active", "name"))
    return render(request, "feedback/rule_list.html", {"rules": rules, "can_edit": _is_admin(request)})


def _rule_form_page(request, form, rule, status=200):
    context = {"form": form, "rule": rule, "threshold_help": THRESHOLD_HELP.items(),
               "ranges": {k: f"{low} to {high}" for k, (low, high) in AlertRule.THRESHOLD_RANGE.items()}}
    return render(request, "feedback/rule_form.html", context, status=status)


@tenant_role_required(ADMINS)
def rule_create_view(request, tenant_slug):
    form = AlertRuleForm(request.POST or None, initial={"sla_hours": 48, "threshold": 6, "is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.alert_rule_create(tenant=request.tenant, acting_user=request.user, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Alert rule “{rule.name}” created.")
            return redirect("alerts:rules", tenant_slug=tenant_slug)
    return _rule_form_page(request, form, None, _status(form))


@tenant_role_required(ADMINS)
def rule_edit_view(request, tenant_slug, uuid):
    rule = get_object_or_404(AlertRule.objects.select_related("assignee__user"), uuid=uuid)
    form = AlertRuleForm(request.POST or None, instance=copy.copy(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.alert_rule_update(tenant=request.tenant, acting_user=request.user, rule=rule, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Alert rule saved.")
            return redirect("alerts:rules", tenant_slug=tenant_slug)
    return _rule_form_page(request, form, rule, _status(form))


@require_POST
@tenant_role_required(ADMINS)
def rule_delete_view(request, tenant_slug, uuid):
    rule = get_object_or_404(AlertRule, uuid=uuid)
    cases = services.alert_rule_delete(tenant=request.tenant, acting_user=request.user, rule=rule)
    kept = f" Its {cases} case{'s' if cases != 1 else ''} stay{'s' if cases == 1 else ''}." if cases else ""
    messages.success(request, f"Alert rule “{rule.name}” deleted.{kept}")
    return redirect("alerts:rules", tenant_slug=tenant_slug)


# --- root causes --------------------------------------------------------------------------------

@tenant_role_required(LEADS)
def root_cause_list_view(request, tenant_slug):
    """Leads read the taxonomy (with how often each cause was chosen); admins also add causes (POST here)."""
    can_edit = _is_admin(request)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied("Only admins change the root causes.")
    form = RootCauseForm(request.POST or None) if can_edit else None
    if request.method == "POST" and form.is_valid():
        try:
            cause = services.root_cause_create(tenant=request.tenant, acting_user=request.user, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Root cause “{cause.name}” added.")
            return redirect("alerts:root_causes", tenant_slug=tenant_slug)
    causes = (RootCause.objects.annotate(case_count=Count("cases", filter=Q(cases__status=Case.Status.RESOLVED)))
              .order_by("-is_active", "name"))
    return render(request, "feedback/root_causes.html", {"form": form, "causes": causes, "can_edit": can_edit},
                  status=_status(form))


@tenant_role_required(ADMINS)
def root_cause_edit_view(request, tenant_slug, uuid):
    cause = get_object_or_404(RootCause, uuid=uuid)
    form = RootCauseForm(request.POST or None, instance=copy.copy(cause))
    if request.method == "POST" and form.is_valid():
        try:
            services.root_cause_update(tenant=request.tenant, acting_user=request.user, root_cause=cause, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Root cause saved.")
            return redirect("alerts:root_causes", tenant_slug=tenant_slug)
    return render(request, "feedback/root_cause_form.html", {"form": form, "cause": cause}, status=_status(form))


@require_POST
@tenant_role_required(ADMINS)
def root_cause_archive_view(request, tenant_slug, uuid):
    cause = get_object_or_404(RootCause, uuid=uuid)
    services.root_cause_archive(tenant=request.tenant, acting_user=request.user, root_cause=cause)
    messages.success(request, f"Root cause “{cause.name}” archived: resolved cases keep it; new resolutions cannot choose it.")
    return redirect("alerts:root_causes", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(ADMINS)
def root_cause_restore_view(request, tenant_slug, uuid):
    cause = get_object_or_404(RootCause, uuid=uuid)
    services.root_cause_update(tenant=request.tenant, acting_user=request.user, root_cause=cause, data={"is_active": True})
    messages.success(request, f"Root cause “{cause.name}” restored.")
    return redirect("alerts:root_causes", tenant_slug=tenant_slug)
