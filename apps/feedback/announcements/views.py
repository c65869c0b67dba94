""""You said, we did" pages (issue 8 item 4): compose a message from a case or an action plan (prefilled,
a live preview of the e-mail, who gets it and who is skipped and why — before anything is sent), send it
(with an explicit confirmation), read its log, list them all.

Roles: admins and CX leads compose and send; viewers read the list and the logs (a POST answers 403);
staff have no access (the message goes to clients in the workspace's name, so a lead decides).

Thin views: a form, one service call (apps.feedback.announcements.services), render. The compose page
answers its own htmx POST (`action=preview`) with the preview fragment only, so no extra route.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.forms import add_service_errors
from apps.feedback.announcements import services
from apps.feedback.announcements.forms import AnnouncementForm, SendForm
from apps.feedback.models import ActionPlan, Announcement, AnnouncementRecipient, Case
from apps.messaging.services import sender_name
from apps.tenancy.context import tenant_context
from apps.tenancy.models import LEADS
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS

PER_PAGE = 50
RECIPIENTS_PER_PAGE = 100
START_LIMIT = 8


def _me(request):
    return request.tenant_access.membership


def _can_send(request) -> bool:
    return request.tenant_access.role in LEADS


def _preview(tenant, data: dict) -> services.RenderedEmail:
    return services.announcement_render(tenant=tenant, subject=data.get("subject", ""), you_said=data.get("you_said", ""),
                                        we_did=data.get("we_did", ""))


def _values(form: AnnouncementForm) -> dict:
    """The texts as typed (also when the form is invalid: the preview shows what is there)."""
    if form.is_bound:
        return {name: (form.data.get(name) or "").strip() for name in ("subject", "you_said", "we_did")}
    return {name: form.initial.get(name, "") for name in ("subject", "you_said", "we_did")}


def _compose(request, *, case: Case | None = None, plan: ActionPlan | None = None):
    tenant = request.tenant
    prefill = services.prefill_for_case(case) if case is not None else services.prefill_for_plan(plan)
    recipients = services.announcement_recipients(tenant=tenant, case=case, plan=plan)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = AnnouncementForm(request.POST if request.method == "POST" else None, initial=prefill)
    send_form = SendForm(request.POST if action == "send" else None)
    context = {"form": form, "send_form": send_form, "case": case, "plan": plan, "recipients": recipients,
               "preview": _preview(tenant, _values(form))}
    if action == "preview" and getattr(request, "htmx", None):
        return render(request, "feedback/announcements/_preview.html", context)
    status = 200
    if action in ("save", "send"):
        if form.is_valid() and (action == "save" or send_form.is_valid()):
            try:
                if case is not None:
                    announcement = services.announcement_draft_for_case(tenant=tenant, acting_member=_me(request), case=case,
                                                                        **form.cleaned_data)
                else:
                    announcement = services.announcement_draft_for_plan(tenant=tenant, acting_member=_me(request), plan=plan,
                                                                        **form.cleaned_data)
                if action == "send":
                    announcement = services.announcement_send(tenant=tenant, acting_member=_me(request), announcement=announcement)
                    messages.success(request, f"Sent to {announcement.recipients_count} "
                                              f"{'person' if announcement.recipients_count == 1 else 'people'}; "
                                              f"{announcement.skipped_count} skipped.")
                else:
                    messages.success(request, "Draft saved. Check it, then send it.")
                return redirect("announcements:detail", tenant_slug=tenant.slug, uuid=announcement.uuid)
            except ValidationError as exc:
                add_service_errors(form, exc)
        status = 400
    return render(request, "feedback/announcements/compose.html", context, status=status)


@tenant_role_required(LEADS)
def announcement_new_for_case_view(request, tenant_slug, uuid):
    case = get_object_or_404(Case.objects.select_related("response", "root_cause", "contact", "client"), uuid=uuid)
    return _compose(request, case=case)


@tenant_role_required(LEADS)
def announcement_new_for_plan_view(request, tenant_slug, uuid):
    plan = get_object_or_404(ActionPlan.objects.select_related("touchpoint", "stage", "journey", "segment", "survey"), uuid=uuid)
    return _compose(request, plan=plan)


@tenant_role_required(READERS)
def announcement_detail_view(request, tenant_slug, uuid):
    """A draft: edit it, preview it, send it (leads). A sent message: its log — who sent it when, each
    recipient with their status or skip reason and the e-mail's delivery status."""
    tenant = request.tenant
    announcement = get_object_or_404(Announcement.objects.select_related("case", "plan", "sent_by__user"), uuid=uuid)
    draft = announcement.status == Announcement.Status.DRAFT
    form = AnnouncementForm(initial={"subject": announcement.subject, "you_said": announcement.you_said, "we_did": announcement.we_did})
    send_form = SendForm()
    status = 200
    if request.method == "POST":
        if not _can_send(request):
            raise PermissionDenied("Only admins and CX leads edit or send messages.")
        action = request.POST.get("action", "")
        if action == "preview" and draft:
            form = AnnouncementForm(request.POST)
            if getattr(request, "htmx", None):
                return render(request, "feedback/announcements/_preview.html", {"preview": _preview(tenant, _values(form))})
        try:
            if action == "preview":
                pass  # without JavaScript: the page again, its preview of the texts as typed
            elif action == "save" and draft:
                form = AnnouncementForm(request.POST)
                if form.is_valid():
                    services.announcement_update(tenant=tenant, acting_member=_me(request), announcement=announcement, **form.cleaned_data)
                    messages.success(request, "Draft saved.")
                    return redirect("announcements:detail", tenant_slug=tenant.slug, uuid=announcement.uuid)
            elif action == "send":
                send_form = SendForm(request.POST)
                if send_form.is_valid() or not draft:
                    was_draft = draft
                    announcement = services.announcement_send(tenant=tenant, acting_member=_me(request), announcement=announcement)
                    if was_draft:
                        messages.success(request, f"Sent to {announcement.recipients_count} "
                                                  f"{'person' if announcement.recipients_count == 1 else 'people'}; "
                                                  f"{announcement.skipped_count} skipped.")
                    else:
                        messages.info(request, "This message was already sent: nobody was e-mailed again.")
                    return redirect("announcements:detail", tenant_slug=tenant.slug, uuid=announcement.uuid)
            else:
                return redirect("announcements:detail", tenant_slug=tenant.slug, uuid=announcement.uuid)
        except ValidationError as exc:
            add_service_errors(form, exc)
        status = 200 if action == "preview" else 400
    context = {"announcement": announcement, "draft": draft, "form": form, "send_form": send_form, "can_send": _can_send(request),
               "preview": _preview(tenant, _values(form)) if draft else None}
    if draft:
        context["recipients"] = services.recipients_for(tenant, announcement)
    else:
        log = (AnnouncementRecipient.objects.filter(announcement=announcement)
               .select_related("contact", "contact__client", "outbound_email").order_by("status", "id"))
        context["log"] = Paginator(log, RECIPIENTS_PER_PAGE).get_page(request.GET.get("page"))
        context["skip_labels"] = services.SKIP_LABELS
    return render(request, "feedback/announcements/detail.html", context, status=status)


@tenant_role_required(READERS)
def announcement_list_view(request, tenant_slug):
    rows = Announcement.objects.select_related("case", "plan", "sent_by__user").order_by("-created_at", "-id")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "can_send": _can_send(request)}
    if context["can_send"]:  # where to start one: the latest resolved cases and the plans that are not cancelled
        context["recent_cases"] = list(Case.objects.filter(status=Case.Status.RESOLVED).select_related("client")
                                       .order_by("-resolved_at", "-id")[:START_LIMIT])
        context["recent_plans"] = list(ActionPlan.objects.exclude(status=ActionPlan.Status.CANCELLED).order_by("-created_at", "-id")[:START_LIMIT])
    return render(request, "feedback/announcements/list.html", context)


# --- the public opt-out link of every "you said, we did" e-mail: /u/<token>/ ----------------------------

@csrf_exempt
@require_http_methods(["GET", "POST"])
def announcement_optout_view(request, token):
    """Global (no tenant in the URL). The link's random token is found by its hash first (or an older
    signed link's signature checked); only then is its tenant activated and the contact looked up inside
    it. GET only asks (mail scanners open links); POST opts the contact out of messages and surveys.
    One-click unsubscribe posts without a form, so no CSRF token: the token is the capability. An
    unknown, altered or forged link, or one whose contact no longer exists, gets one generic 404 page."""
    found = services.optout_find_including_cross_tenant(token)
    if found is None:
        return render(request, "feedback/announcements/optout_gone.html", {"lang": "en", **services.page_text("en", "")}, status=404)
    tenant, contact = found
    with tenant_context(tenant):
        lang = services.language_for(tenant, contact)
        strings = services.page_text(lang, sender_name(tenant))
        if request.method == "POST":
            services.contact_messages_opt_out(tenant=tenant, contact=contact)
            return render(request, "feedback/announcements/optout_done.html", {"lang": lang, **strings})
        return render(request, "feedback/announcements/optout.html", {"lang": lang, **strings})
