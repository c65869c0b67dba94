"""Distribution pages for CX leads and admins: send a survey, its send log, the outbox (admins),
and the test e-mail to oneself. Thin views: a form, one service or selector, a render."""

from __future__ import annotations

import uuid as uuid_lib
import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.clients.models import Contact
from apps.core.dates import day_start
from apps.core.forms import add_service_errors
from apps.core.qr import qr_svg_file, qr_svg_inline
from apps.messaging.models import OutboundEmail
from apps.surveys.distribution import emails
from apps.surveys.distribution.forms import EmailTextsForm, InvitationFilterForm, LogFilterForm, SendForm
from apps.surveys.distribution.links import embed_snippet, web_link_url
from apps.surveys.distribution.manual import (
    manual_send_audience,
    manual_send_cancel,
    manual_send_progress,
    manual_send_skipped,
    manual_send_start,
    manual_send_summary,
)
from apps.surveys.distribution.selectors import invitation_list, invitation_status_counts, outbox_list, send_contact_choices
from apps.surveys.distribution.services import (
    survey_accepts_invitations,
    survey_email_texts_update,
    survey_preview_version,
    test_email_send,
)
from apps.surveys.kinds import LANGUAGE_NAMES
from apps.surveys.models import ManualSend, Survey
from apps.tenancy.models import ADMINS, LEADS
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS

LOG_PER_PAGE = 50
OUTBOX_PER_PAGE = 50


def _survey(uuid) -> Survey:
    return get_object_or_404(Survey.objects.select_related("current_version", "touchpoint"), uuid=uuid)


PICKER_ROWS = 50


def _picker(form: SendForm, data) -> dict:
    """The contact picker: the contacts chosen so far (kept checked across searches), then up to PICKER_ROWS others
    matching the search and segment filter — a list to tick, not a 500-row select."""
    choices = send_contact_choices()
    chosen_ids = [value for value in (data.getlist("contacts") if data else []) if _is_uuid(value)]
    chosen = list(choices.filter(uuid__in=chosen_ids))
    found = choices.exclude(uuid__in=[c.uuid for c in chosen])
    text = (data.get("find") or "").strip()[:100] if data else ""
    if text:
        found = found.filter(Q(name__icontains=text) | Q(email__icontains=text) | Q(client__name__icontains=text))
    segment = (data.get("find_segment") or "") if data else ""
    if _is_uuid(segment):
        found = found.filter(client__segment__uuid=segment)
    rows = list(found[:PICKER_ROWS + 1])
    return {"chosen": chosen, "found": rows[:PICKER_ROWS], "more": len(rows) > PICKER_ROWS, "searched": bool(text or segment)}


def _is_uuid(value) -> bool:
    try:
        uuid_lib.UUID(str(value))
    except ValueError:
        return False
    return True


@require_http_methods(["GET", "POST"])
@tenant_role_required(LEADS)
def send_view(request, tenant_slug, uuid):
    """Who to invite (a segment and/or contacts found with the picker), when (now, or at a date and time in the
    workspace's zone), then a review — how many will be invited and how many skipped, and why, by the distribution
    rules themselves — before the confirm button starts (or schedules) the send."""
    survey = _survey(uuid)
    action = request.POST.get("action", "review") if request.method == "POST" else ""
    with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
        if action == "find":  # the picker's search: the same choices again, no validation yet
            form = SendForm(initial={k: request.POST.get(k) for k in ("batch", "segment", "find", "find_segment", "when", "scheduled_for")})
        else:
            form = SendForm(request.POST or None)
        audience = None
        if action in ("review", "confirm") and form.is_valid():
            data = form.cleaned_data
            if action == "confirm":
                try:
                    send, replayed = manual_send_start(
                        tenant=request.tenant, acting_user=request.user, survey=survey, batch=data["batch"], segment=data["segment"],
                        contacts=list(data["contacts"]), acting_member=request.tenant_access.membership,
                        scheduled_for=data.get("scheduled_for"))
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    if replayed:
                        messages.info(request, "This send was already made (the form was submitted twice): nothing new was sent.")
                    return redirect("distribution:send_progress", tenant_slug=tenant_slug, uuid=send.uuid)
            if not form.errors:
                audience = manual_send_audience(tenant=request.tenant, survey=survey, segment=data["segment"],
                                                contacts=list(data["contacts"]))
        web_link = web_link_url(survey)
        context = {"survey": survey, "form": form, "is_open": survey_accepts_invitations(survey, timezone.now()),
                   "audience": audience, "picker": _picker(form, request.POST if request.method == "POST" else None),
                   "scheduled": bool(form.is_bound and not form.errors and form.cleaned_data.get("scheduled_for")),
                   "web_link": web_link, "web_link_qr": qr_svg_inline(web_link) if web_link else "",
                   "embed_snippet": embed_snippet(survey)}
        show_errors = action in ("review", "confirm") and bool(form.errors)
        return render(request, "surveys/distribution/send.html", context | {"show_errors": show_errors},
                      status=400 if show_errors else 200)


@require_http_methods(["GET"])
@tenant_role_required(LEADS)
def web_link_qr_view(request, tenant_slug, uuid):
    """The web link's QR code as an SVG file to download (a poster, a table tent, a receipt)."""
    survey = _survey(uuid)
    web_link = web_link_url(survey)
    if web_link is None:
        raise Http404("This survey's public web link is off.")
    response = HttpResponse(qr_svg_file(web_link), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="web-link-{survey.uuid}.svg"'
    return response


def _manual_send(uuid) -> ManualSend:
    return get_object_or_404(ManualSend.objects.select_related("survey", "created_by__user"), uuid=uuid)


@tenant_role_required(LEADS)
def send_progress_view(request, tenant_slug, uuid):
    """One manual send: its progress while the worker makes the invitations, then what it did."""
    send = _manual_send(uuid)
    context = {"survey": send.survey, "send": send, "progress": manual_send_progress(send), "summary": manual_send_summary(send),
               "skipped": manual_send_skipped(send)}
    return render(request, "surveys/distribution/send_progress.html", context)


@require_POST
@tenant_role_required(LEADS)
def send_cancel_view(request, tenant_slug, uuid):
    """Cancel a scheduled send before it starts."""
    send = _manual_send(uuid)
    try:
        manual_send_cancel(tenant=request.tenant, acting_user=request.user, send=send)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The scheduled send is cancelled: nothing was sent.")
    return redirect("distribution:send_progress", tenant_slug=tenant_slug, uuid=send.uuid)


@tenant_role_required(LEADS)
def send_status_view(request, tenant_slug, uuid):
    """The progress page's poll (static/js/progress.js)."""
    send = _manual_send(uuid)
    return JsonResponse(manual_send_progress(send).as_json())


@tenant_role_required(LEADS)
def log_view(request, tenant_slug, uuid):
    survey = _survey(uuid)
    form = LogFilterForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        rows = invitation_list(survey=survey, status=filters.get("status") or None, skip_reason=filters.get("skip_reason") or None,
                               batch=filters.get("batch"))
        page = Paginator(rows, LOG_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "survey": survey,
        "form": form,
        "page": page,
        "counts": invitation_status_counts(survey=survey),
        "filtered": any(request.GET.get(k) for k in ("status", "skip_reason", "batch")),
        "time_zone": zoneinfo.ZoneInfo(request.tenant.time_zone),
    }
    return render(request, "surveys/distribution/log.html", context, status=400 if form.errors else 200)


@tenant_role_required(READERS)
def invitations_view(request, tenant_slug):
    """Every survey's invitations, filtered (the CX lead's funnel numbers open here with their days, survey, channel
    and step: as many as the number)."""
    form = InvitationFilterForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        d = form.cleaned_data if form.is_bound else {}
        first, last, tz = d.get("date_from"), d.get("date_to"), request.tenant.time_zone
        created = (day_start(tz, first) if first else None, day_start(tz, last + timedelta(days=1)) if last else None)
        rows = invitation_list(survey=d.get("survey"), status=d.get("status") or None, skip_reason=d.get("skip_reason") or None,
                               step=d.get("step") or None, created=created, channel=d.get("channel") or None)
        page = Paginator(rows, LOG_PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "time_zone": zoneinfo.ZoneInfo(request.tenant.time_zone),
               "filtered": any(v for k, v in request.GET.items() if k != "page")}
    return render(request, "surveys/distribution/invitations.html", context, status=400 if form.errors else 200)


@tenant_role_required(ADMINS)
def outbox_view(request, tenant_slug):
    page = Paginator(outbox_list(), OUTBOX_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "surveys/distribution/outbox.html", {"page": page})


@require_POST
@tenant_role_required(LEADS)
def test_email_view(request, tenant_slug, uuid):
    survey = _survey(uuid)
    try:
        email = test_email_send(tenant=request.tenant, acting_user=request.user, survey=survey, language=request.POST.get("lang"),
                                contact=_preview_contact(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Test e-mail on its way to {email.to_email}. Its links open the preview; no answer is recorded.")
    if request.POST.get("back") == "email":
        query = urlencode({k: request.POST[k] for k in ("lang", "contact") if request.POST.get(k)})
        return redirect(f"{reverse('distribution:email_texts', kwargs={'tenant_slug': tenant_slug, 'uuid': survey.uuid})}?{query}#preview-h")
    try:
        back = reverse("surveys:preview", kwargs={"tenant_slug": tenant_slug, "uuid": survey.uuid})
    except NoReverseMatch:
        back = reverse("distribution:log", kwargs={"tenant_slug": tenant_slug, "uuid": survey.uuid})
    return redirect(back)



# --- the invitation e-mail's words (issue 20 item 3) --------------------------------------------------

def _preview_contact(request):
    """The contact whose data fills the preview (?contact=<uuid>), if any and in this workspace."""
    raw = request.GET.get("contact") or request.POST.get("contact") or ""
    try:
        return Contact.objects.select_related("client__segment").filter(uuid=raw).first() if raw else None
    except (ValueError, ValidationError):
        return None


def _email_defaults(request, survey: Survey) -> dict:
    version = survey_preview_version(survey)
    return {lang: emails.email_defaults(tenant=request.tenant, survey=survey, version=version, language=lang)
            for lang in survey.languages or [survey.default_language]}


@require_http_methods(["GET", "POST"])
@tenant_role_required(LEADS)
def email_texts_view(request, tenant_slug, uuid):
    """The invitation e-mail's subject, intro, button and reminder per language, with a preview filled with a real
    contact's data (an iframe of email_preview_view) and a test send to oneself."""
    survey = _survey(uuid)
    languages = survey.languages or [survey.default_language]
    defaults = _email_defaults(request, survey)
    form = EmailTextsForm(request.POST or None, languages=languages, defaults=defaults,
                          initial=EmailTextsForm.initial_for(survey.email_texts, languages))
    if request.method == "POST" and form.is_valid():
        try:
            survey_email_texts_update(tenant=request.tenant, acting_user=request.user, survey=survey, texts=form.texts())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "E-mail texts saved: invitations and reminders sent from now on use them.")
            return redirect(f"{reverse('distribution:email_texts', kwargs={'tenant_slug': tenant_slug, 'uuid': uuid})}#preview-h")
    contact = _preview_contact(request)
    lang = request.GET.get("lang") if request.GET.get("lang") in languages else survey.default_language
    contacts = Contact.objects.select_related("client").exclude(email="").order_by("client__name", "name")[:200]
    query = {"lang": lang, **({"contact": str(contact.uuid)} if contact else {})}
    version = survey_preview_version(survey)
    subjects = [] if version is None else [
        (label, emails.render_survey_email(tenant=request.tenant, invitation=None, kind=kind, survey=survey, version=version,
                                           language=lang, contact=contact, preview_url="").subject)
        for label, kind in (("Invitation", OutboundEmail.Kind.INVITATION), ("Reminder", OutboundEmail.Kind.REMINDER))]
    context = {"subjects": subjects, "has_version": version is not None, "survey": survey,
               "heading": f"Invitation e-mail of “{survey.name}”", "form": form, "contacts": contacts,
               "contact": contact, "lang": lang, "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in languages],
               "preview_query": urlencode(query)}
    return render(request, "surveys/distribution/email_texts.html", context, status=400 if form.errors else 200)


@tenant_role_required(LEADS)
def email_preview_view(request, tenant_slug, uuid):
    """The invitation (or ?kind=reminder) e-mail's HTML as a contact would get it — saved texts, the contact's data
    — for the editor's iframe. Its links open the preview, never a respondent link."""
    survey = _survey(uuid)
    version = survey_preview_version(survey)
    if version is None:
        raise Http404
    languages = survey.languages or [survey.default_language]
    lang = request.GET.get("lang") if request.GET.get("lang") in languages else survey.default_language
    kind = OutboundEmail.Kind.REMINDER if request.GET.get("kind") == "reminder" else OutboundEmail.Kind.TEST
    rendered = emails.render_survey_email(tenant=request.tenant, invitation=None, kind=kind, survey=survey, version=version,
                                          language=lang, preview_url=reverse("surveys:preview", kwargs={"tenant_slug": tenant_slug,
                                                                                                        "uuid": uuid}),
                                          contact=_preview_contact(request))
    response = HttpResponse(rendered.html)
    response["X-Frame-Options"] = "SAMEORIGIN"
    # The e-mail's own inline styles (as mail clients read them); nothing in it runs (no script may load).
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    response["Cache-Control"] = "no-store"
    return response
