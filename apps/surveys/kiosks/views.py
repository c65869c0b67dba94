"""Kiosk devices of a survey (CX leads and admins): list, create (the key is shown once), revoke.
The public kiosk page itself is `respond/views.kiosk_respond_view` (/k/<key>/)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.core.qr import qr_svg_inline
from apps.surveys.kiosks.forms import KioskForm
from apps.surveys.kiosks.services import kiosk_create, kiosk_revoke, kiosk_url
from apps.surveys.models import KioskDevice, Survey
from apps.tenancy.models import LEADS
from apps.tenancy.permissions import tenant_role_required


def _list_context(survey, form):
    devices = KioskDevice.objects.filter(survey=survey).select_related("touchpoint").order_by("revoked_at", "name")
    return {"survey": survey, "devices": devices, "form": form}


@tenant_role_required(LEADS)
def kiosk_list_view(request, tenant_slug, uuid):
    survey = get_object_or_404(Survey.objects.select_related("touchpoint"), uuid=uuid)
    form = KioskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, raw_key = kiosk_create(tenant=request.tenant, acting_user=request.user, acting_member=request.tenant_access.membership,
                                           survey=survey, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Shown once, on this response only (never redirected to, never stored).
            url = kiosk_url(raw_key)
            response = render(request, "surveys/kiosks/created.html", {"survey": survey, "device": device, "url": url,
                                                                           "qr": qr_svg_inline(url)})
            response["Cache-Control"] = "no-store"
            response["Referrer-Policy"] = "no-referrer"
            return response
    return render(request, "surveys/kiosks/list.html", _list_context(survey, form), status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def kiosk_revoke_view(request, tenant_slug, uuid):
    device = get_object_or_404(KioskDevice.objects.select_related("survey"), uuid=uuid)
    try:
        kiosk_revoke(tenant=request.tenant, acting_user=request.user, kiosk=device)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"“{device.name}” is revoked: its key no longer opens the survey.")
    return redirect("kiosks:list", tenant_slug=tenant_slug, uuid=device.survey.uuid)
