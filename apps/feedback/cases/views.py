"""Case pages: the list (filters in the URL, overdue first), one case (what triggered it, the thread,
the actions) and a manual case. Everyone in the workspace reads the cases they may see (staff: their
own and their team's unassigned queue, another staff member's case is a 404); admins, CX leads and
staff work them (staff only the cases they see); viewers only read (a POST answers 403).

Thin views: parse a form, authorise (decorator + `can_work`), call one service or selector, render.
"""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.clients.models import Client
from apps.core.forms import add_service_errors
from apps.feedback.cases import selectors, services
from apps.feedback.cases.forms import AssignForm, CaseCreateForm, CaseFilterForm, NoteForm, ResolveForm, WontFixForm
from apps.feedback.models import Case
from apps.feedback.recovery.selectors import parse_scope, recovery_filter_labels
from apps.metrics.params import MetricParamError
from apps.tenancy.models import EVERYONE, STAFF_AND_UP
from apps.tenancy.permissions import tenant_role_required

CASES_PER_PAGE = 50


def _me(request):
    return request.tenant_access.membership


def _role(request):
    return request.tenant_access.role


def _with_sla(cases, now):
    """Attach `sla` ("due in 3 h", "overdue by 2 d") and `overdue` to each case shown."""
    rows = list(cases)
    for case in rows:
        case.sla = selectors.sla_text(case, now)
        case.overdue = case.is_overdue(now)
    return rows


def _recovery_scope(request):
    """(the recovery number's cases the address asks for or None, the error in words or "")."""
    try:
        return parse_scope(request.GET, request.tenant), ""
    except MetricParamError as error:
        message = " ".join(str(m) for messages_ in error.detail.values() for m in messages_)
        return None, f"{message} Open the list again from the recovery page."


@tenant_role_required(EVERYONE)
def case_list_view(request, tenant_slug):
    form = CaseFilterForm(request.GET or None)
    scope, scope_error = _recovery_scope(request)
    now = timezone.now()
    page = None
    filters = form.filters() if form.is_valid() else (selectors.CaseFilters() if not form.is_bound else None)
    if filters is not None and not scope_error:
        filters = dataclasses.replace(filters, recovery=scope)
        cases = selectors.case_list(tenant=request.tenant, acting_member=_me(request), filters=filters, now=now)
        page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
        page.object_list = _with_sla(page.object_list, now)
    counts = selectors.case_counts(tenant=request.tenant, acting_member=_me(request), now=now)
    chosen_client = form.cleaned_data.get("client") if form.is_bound and form.is_valid() else None
    status = (form.cleaned_data.get("status") if form.is_bound and form.is_valid() else "") or "active"
    chips = [("active", "Open and in progress", counts.active), ("open", "Open", counts.open),
             ("in_progress", "In progress", counts.in_progress), ("overdue", "Overdue", counts.overdue),
             ("resolved", "Resolved", counts.resolved), ("wont_fix", "Won't fix", counts.wont_fix), ("all", "All", counts.all)]
    overdue_only = bool(form.is_bound and form.is_valid() and form.cleaned_data.get("overdue"))
    context = {
        "form": form, "page": page, "counts": counts, "chips": chips, "chosen_client": chosen_client,
        "current_chip": "overdue" if overdue_only else status,
        "filtered": form.is_bound and any(v for k, v in request.GET.items() if k not in ("page",)),
        "can_create": _role(request) in STAFF_AND_UP, "sees_all": selectors.can_see_all(acting_member=_me(request), role=_role(request)),
        "recovery_scope": scope, "recovery_error": scope_error,
        "recovery_applied": recovery_filter_labels(scope.filters) if scope else (),
    }
    return render(request, "feedback/case_list.html", context, status=400 if form.errors or scope_error else 200)


RECOVERY_REFUSALS = {
    "opted_out": "{who} opted out of surveys.",
    "no_email": "{who} has no e-mail address.",
    "survey_closed": "“{survey}” is not open (publish or resume it to send it).",
    "churned": "the client has churned.",
    "duplicate": "{who} already has an open invitation to “{survey}”.",
}


def _recovery(case: Case) -> tuple[bool, str]:
    """(can the rule's recovery survey be sent on resolving, why not in words): the distribution rules
    the service applies (apps.surveys.distribution.services.skip_reason; fatigue does not hold back a
    recovery survey), so the box is offered, ticked, only when sending it would succeed."""
    from apps.surveys.distribution.services import skip_reason

    rule = case.rule
    if rule is None or not rule.recovery_survey_id or not case.is_open:
        return False, ""
    contact = case.contact
    if contact is None:
        return False, "No recovery survey: this case has no contact to ask."
    survey = rule.recovery_survey
    reason = skip_reason(tenant=case.tenant, survey=survey, contact=contact, client=contact.client, now=timezone.now(),
                         ignore_fatigue=True)
    if reason:
        text = RECOVERY_REFUSALS.get(reason, "it cannot be sent ({reason}).").format(who=contact.name, survey=survey.name,
                                                                                    reason=reason)
        return False, f"No recovery survey: {text}"
    return True, ""


def _announcement_url(tenant_slug: str, case: Case) -> str | None:
    try:
        return reverse("announcements:new_for_case", kwargs={"tenant_slug": tenant_slug, "uuid": case.uuid})
    except NoReverseMatch:
        return None


def _detail(request, tenant_slug, uuid, *, status=200, **forms):
    detail = selectors.case_get(tenant=request.tenant, acting_member=_me(request), uuid=uuid)
    if detail is None:
        raise Http404("No such case.")
    case = detail.case
    now = timezone.now()
    recovery_possible, recovery_note = _recovery(case)
    working = detail.can_work
    context = {
        "detail": detail, "case": case, "notes": detail.notes, "plans": detail.plans, "sla": selectors.sla_text(case, now),
        "overdue": detail.overdue, "can_work": working, "recovery_possible": recovery_possible, "recovery_note": recovery_note,
        "announcement_url": _announcement_url(tenant_slug, case) if case.status == Case.Status.RESOLVED and working else None,
        "is_mine": _me(request) is not None and case.assignee_id == _me(request).pk,
    }
    if working:
        context.update(
            note_form=forms.get("note_form") or NoteForm(),
            assign_form=forms.get("assign_form") or AssignForm(case=case),
            resolve_form=forms.get("resolve_form") or ResolveForm(recovery_possible=recovery_possible),
            wont_fix_form=forms.get("wont_fix_form") or WontFixForm(),
        )
    return render(request, "feedback/case_detail.html", context, status=status)


@require_GET
@tenant_role_required(EVERYONE)
def case_detail_view(request, tenant_slug, uuid):
    """Read only: each form on the page posts to its own action."""
    return _detail(request, tenant_slug, uuid)


def _case_to_work(request, uuid) -> Case:
    case = selectors.case_get_for_write(acting_member=_me(request), uuid=uuid)
    if case is None:
        raise Http404("No such case.")
    if not selectors.can_work(case, acting_member=_me(request)):
        raise PermissionDenied("You cannot work this case.")
    return case


def _back(tenant_slug, case, anchor=""):
    return redirect(reverse("cases:detail", kwargs={"tenant_slug": tenant_slug, "uuid": case.uuid}) + anchor)


def _act(request, tenant_slug, case, action, success: str, anchor=""):
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return _back(tenant_slug, case, anchor)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_note_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.case_note_add(tenant=request.tenant, acting_member=_me(request), case=case, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Note added.")
            return _back(tenant_slug, case, "#thread")
    return _detail(request, tenant_slug, uuid, status=400, note_form=form)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_assign_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    form = AssignForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_assign(tenant=request.tenant, acting_member=_me(request), case=case,
                                 assignee=form.cleaned_data["assignee"], team=form.cleaned_data["team"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Assignment saved.")
            if selectors.case_get_for_write(acting_member=_me(request), uuid=case.uuid) is None:
                return redirect("cases:list", tenant_slug=tenant_slug)  # staff gave it away: no longer theirs to see
            return _back(tenant_slug, case)
    return _detail(request, tenant_slug, uuid, status=400, assign_form=form)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_take_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    me = _me(request)
    return _act(request, tenant_slug, case,
                lambda: services.case_assign(tenant=request.tenant, acting_member=me, case=case, assignee=me, team=case.team),
                "The case is yours now.")


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_start_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    return _act(request, tenant_slug, case,
                lambda: services.case_start(tenant=request.tenant, acting_member=_me(request), case=case), "Case in progress.")


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_resolve_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    recovery_possible, _ = _recovery(case)
    form = ResolveForm(request.POST, recovery_possible=recovery_possible)
    if form.is_valid():
        send = bool(form.cleaned_data.get("send_recovery_survey")) and recovery_possible
        try:
            services.case_resolve(tenant=request.tenant, acting_member=_me(request), case=case,
                                  root_cause=form.cleaned_data["root_cause"], action_taken=form.cleaned_data["action_taken"],
                                  send_recovery_survey=send, recovery_survey=case.rule.recovery_survey if send else None)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Case resolved." + (" The recovery survey is on its way." if send else ""))
            return _back(tenant_slug, case)
    return _detail(request, tenant_slug, uuid, status=400, resolve_form=form)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_wont_fix_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    form = WontFixForm(request.POST)
    if form.is_valid():
        try:
            services.case_close_wont_fix(tenant=request.tenant, acting_member=_me(request), case=case,
                                         reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Case closed as won't fix.")
            return _back(tenant_slug, case)
    return _detail(request, tenant_slug, uuid, status=400, wont_fix_form=form)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def case_reopen_view(request, tenant_slug, uuid):
    case = _case_to_work(request, uuid)
    return _act(request, tenant_slug, case,
                lambda: services.case_reopen(tenant=request.tenant, acting_member=_me(request), case=case), "Case reopened.")


@tenant_role_required(STAFF_AND_UP)
def case_create_view(request, tenant_slug):
    """A manual case for a client (`?client=<uuid>` preselects it). Staff's cases go to themselves by default."""
    client = None
    client_uuid = request.POST.get("client") or request.GET.get("client")
    if client_uuid:
        try:
            client = Client.objects.filter(uuid=client_uuid).first()
        except ValidationError:
            client = None
    me = _me(request)
    form = CaseCreateForm(request.POST or None, client=client,
                          initial={"assignee": me, "team": me.team if me and me.team_id else None} if me else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case, _created = services.case_open(
                tenant=request.tenant, source=Case.Source.CLIENT, title=d["title"], acting_member=me, client=d["client"],
                contact=d["contact"], description=d["description"], assignee=d["assignee"], team=d["team"],
                sla_hours=d["sla_hours"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Case “{case.title}” opened.")
            return redirect("cases:detail", tenant_slug=tenant_slug, uuid=case.uuid)
    return render(request, "feedback/case_form.html", {"form": form, "client": client}, status=400 if form.errors else 200)
