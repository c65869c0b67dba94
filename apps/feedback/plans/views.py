"""Action plan pages (issue 8 item 5), mounted at /t/<tenant_slug>/action-plans/: the list with each plan's
progress, create (with a baseline preview before saving), detail (numbers with n and intervals, the
verdict sentence, the weekly chart with the baseline band and the target line, linked cases), edit,
cancel, link and unlink cases. Everyone reads; CX leads and admins write."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case as DbCase
from django.db.models import IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from apps.core.dates import local_today
from apps.core.forms import add_service_errors
from apps.feedback.models import ActionPlan
from apps.feedback.plans import selectors, services
from apps.feedback.plans.forms import LinkCaseForm, ListFilterForm, PlanCreateForm, PlanEditForm, UnlinkCaseForm
from apps.metrics import charts
from apps.reports.panels import Chart, Table, interval, number
from apps.reports.rendering import render_dashboard
from apps.tenancy.models import EVERYONE, LEADS
from apps.tenancy.permissions import tenant_role_required

AXIS = {"nps": ("NPS", [-106, 106]), "csat": ("CSAT %", [-3, 103]), "ces": ("CES (1–7)", [0.8, 7.2])}
LINKABLE_CASES = 200


# --- forms ----------------------------------------------------------------------------------------

# --- helpers --------------------------------------------------------------------------------------

def _plan(uuid) -> ActionPlan:
    return get_object_or_404(selectors.action_plan_queryset(), uuid=uuid)


def _fmt(metric: str, value) -> str:
    return number(value, selectors.DIGITS[metric])


def _announce_url(request, plan) -> str:
    try:
        return reverse("announcements:new_for_plan", kwargs={"tenant_slug": request.tenant.slug, "uuid": plan.uuid})
    except NoReverseMatch:  # the announcements pages are not mounted (yet)
        return ""


def _case_url(request, case) -> str:
    try:
        return reverse("cases:detail", kwargs={"tenant_slug": request.tenant.slug, "uuid": case.uuid})
    except NoReverseMatch:
        return ""


def _chart(progress: selectors.PlanProgress) -> Chart:
    metric = progress.metric
    title, y_range = AXIS[metric]
    points = list(progress.trend)
    rows = tuple((p["start"].isoformat(), p["end"].isoformat(), p[metric]["value"], p[metric]["n"], p[metric]["ci_low"],
                  p[metric]["ci_high"], bool(p[metric]["low_sample"])) for p in points)
    table = Table(id="plan-trend", title=f"{progress.metric_label} per week since the start",
                  columns=("Week from", "to", progress.metric_label, "n", "95% CI low", "95% CI high", "Low sample"), rows=rows,
                  caption=(f"Baseline {_fmt(metric, progress.baseline_value)} ({interval(progress.baseline_low, progress.baseline_high)}, "
                           f"n = {progress.baseline_n}); target {_fmt(metric, progress.target)}."))
    figure = charts.plan_progress(points, metric, name=progress.metric_label,
                                  baseline=(progress.baseline_value, progress.baseline_low, progress.baseline_high),
                                  target=progress.target, y_title=title, y_range=y_range)
    empty = "" if any(p[metric]["n"] for p in points) else "No answers since the plan started: nothing to draw yet."
    return Chart(id="plan-trend", title=f"{progress.metric_label} per week since the start",
                 explanation=("Each point is the week's value with its 95% interval (shaded); hollow points have fewer answers than "
                              "this workspace's minimum. The orange band is the baseline's 95% interval, the dashed orange line its "
                              "value, the dotted green line the target. Weeks are Monday to Sunday; the first and last may be partial."),
                 figure=figure, table=table, empty=empty)


# --- pages ----------------------------------------------------------------------------------------

STATUS_ORDER = DbCase(When(status=ActionPlan.Status.ACTIVE, then=Value(0)), When(status=ActionPlan.Status.CANCELLED, then=Value(2)),
                     default=Value(1), output_field=IntegerField())


@tenant_role_required(EVERYONE)
def plan_list_view(request, tenant_slug):
    filter_form = ListFilterForm(request.GET or None)
    valid = filter_form.is_valid() if filter_form.is_bound else True
    qs = selectors.action_plan_queryset().annotate(status_order=STATUS_ORDER).order_by("status_order", "due_on", "id")
    if valid and filter_form.is_bound:
        if filter_form.cleaned_data.get("status"):
            qs = qs.filter(status=filter_form.cleaned_data["status"])
        if filter_form.cleaned_data.get("metric"):
            qs = qs.filter(metric=filter_form.cleaned_data["metric"])
    if not valid:
        qs = qs.none()
    page = Paginator(qs, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.action_plan_list(request.tenant, plans=list(page.object_list))
    return render(request, "feedback/plans/list.html", {"rows": rows, "page": page, "filter_form": filter_form,
                                                        "filtered": filter_form.is_bound}, status=200 if valid else 400)


@tenant_role_required(LEADS)
def plan_create_view(request, tenant_slug):
    form = PlanCreateForm(request.POST or None, initial={"due_on": local_today(request.tenant.time_zone) + timedelta(days=90)})
    preview = None
    if request.method == "POST" and "preview" in request.POST:
        # The preview needs only the metric, the scope and the window: the rest may still be empty.
        form.is_valid()
        needed = ("metric", *selectors.SCOPES, "baseline_days")
        form._errors = {name: errors for name, errors in form.errors.items() if name in needed}
        if not form.errors:
            data = form.cleaned_data
            first, last = selectors.default_baseline_window(request.tenant, days=data["baseline_days"])
            preview = selectors.baseline_measure(request.tenant, metric=data["metric"],
                                                 scope={k: (v.pk if v else None) for k, v in form.scope().items()}, first=first, last=last)
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = services.action_plan_create(
                tenant=request.tenant, acting_member=request.tenant_access.membership, title=data["title"],
                description=data["description"], metric=data["metric"], target_value=data["target_value"], due_on=data["due_on"],
                owner=data["owner"], baseline_days=data["baseline_days"], **form.scope())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Action plan “{plan.title}” created; its baseline is {_fmt(plan.metric, plan.baseline_value)} "
                                      f"(n = {plan.baseline_n}).")
            return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)
    target = form.cleaned_data.get("target_value") if preview is not None else None
    too_low = preview is not None and preview.value is not None and target is not None and target <= preview.value
    return render(request, "feedback/plans/create.html", {"form": form, "preview": preview, "target_too_low": too_low},
                  status=400 if form.errors else 200)


def _detail_context(request, plan, *, link_form=None):
    progress = selectors.action_plan_progress(request.tenant, plan)
    chart = _chart(progress)
    cases = [(c, _case_url(request, c)) for c in selectors.plan_cases(plan)]
    if link_form is None and request.tenant_access.role in LEADS:
        link_form = LinkCaseForm(plan=plan).choices_limited()
    return {"plan": plan, "p": progress, "chart": chart, "cases": cases, "link_form": link_form,
            "announce_url": _announce_url(request, plan), "scope": selectors.scope_label(plan),
            "numbers": _numbers(progress)}


def _numbers(p: selectors.PlanProgress) -> dict:
    m = p.metric
    change = p.change or {}
    if change.get("z") is None:
        change_text = "too few answers to test" if change.get("delta") is not None else "no comparison yet"
    else:
        change_text = f"z = {number(change['z'], 2)}: " + ("significant (|z| ≥ 1.96)" if change.get("significant_change") else "not significant")
    return {
        "value": _fmt(m, p.value), "interval": interval(p.low, p.high, selectors.DIGITS[m] if m == "ces" else 1),
        "baseline": _fmt(m, p.baseline_value), "baseline_interval": interval(p.baseline_low, p.baseline_high),
        "target": _fmt(m, p.target),
        "delta": number(change.get("delta"), 1, signed=True) if change.get("delta") is not None else "—", "change": change_text,
    }


@tenant_role_required(EVERYONE)
def plan_detail_view(request, tenant_slug, uuid):
    plan = _plan(uuid)
    context = _detail_context(request, plan)
    return render_dashboard(request, "feedback/plans/detail.html", context, tables=[context["chart"].table], page="plan")


@tenant_role_required(LEADS)
def plan_edit_view(request, tenant_slug, uuid):
    plan = _plan(uuid)
    if plan.status != ActionPlan.Status.ACTIVE:
        messages.error(request, f"A {plan.get_status_display().lower()} plan cannot be changed.")
        return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)
    initial = {"title": plan.title, "description": plan.description, "target_value": plan.target_value, "due_on": plan.due_on,
               "owner": plan.owner}
    form = PlanEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.action_plan_update(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan,
                                        **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Action plan saved.")
            return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)
    return render(request, "feedback/plans/edit.html", {"form": form, "plan": plan, "scope": selectors.scope_label(plan)},
                  status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def plan_cancel_view(request, tenant_slug, uuid):
    plan = _plan(uuid)
    try:
        services.action_plan_cancel(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan,
                                    reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Action plan “{plan.title}” cancelled.")
    return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)


@require_POST
@tenant_role_required(LEADS)
def plan_link_case_view(request, tenant_slug, uuid):
    plan = _plan(uuid)
    form = LinkCaseForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            created = services.action_plan_link_case(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan,
                                                     case=form.cleaned_data["case"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Case linked." if created else "That case was already linked.")
            return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)
    context = _detail_context(request, plan, link_form=form.choices_limited())
    return render(request, "feedback/plans/detail.html", context, status=400)


@require_POST
@tenant_role_required(LEADS)
def plan_unlink_case_view(request, tenant_slug, uuid):
    plan = _plan(uuid)
    form = UnlinkCaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "No such case is linked to this plan.")
        return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)
    removed = services.action_plan_unlink_case(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan,
                                               case=form.cleaned_data["case"])
    messages.success(request, "Case unlinked." if removed else "That case was not linked.")
    return redirect("plans:detail", tenant_slug=tenant_slug, uuid=plan.uuid)
