"""The digest preferences page (issue 8 item 6): every member, whatever their role, opts in or out of
the daily and weekly digest for themselves in this workspace, reads what their role's digest contains,
and previews the digest of the last complete period (`?preview=daily|weekly`: a read, so a GET that
writes nothing and sends nothing)."""

from django.contrib import messages
from django.shortcuts import redirect, render

from apps.core.dates import local_today
from apps.digests import selectors, services
from apps.digests.forms import DigestPreferencesForm, DigestPreviewForm
from apps.digests.models import DigestSend
from apps.tenancy.models import EVERYONE
from apps.tenancy.permissions import tenant_role_required

RECENT = 8


@tenant_role_required(EVERYONE)
def preferences_view(request, tenant_slug):
    me = request.tenant_access.membership
    # Bound on every POST: unticking both boxes posts no field at all (an empty, falsy QueryDict).
    form = DigestPreferencesForm(request.POST if request.method == "POST" else None, initial=selectors.subscriptions_of(me))
    if request.method == "POST" and form.is_valid():
        services.digest_preferences_update(tenant=request.tenant, membership=me, **form.cleaned_data)
        chosen = [name for name in ("daily", "weekly") if form.cleaned_data[name]]
        messages.success(request, f"Saved: you receive the {' and the '.join(chosen)} digest." if chosen
                         else "Saved: you receive no digest from this workspace.")
        return redirect("digests:preferences", tenant_slug=tenant_slug)

    preview_form, preview = DigestPreviewForm(initial={"preview": "daily"}), None
    if "preview" in request.GET:
        preview_form = DigestPreviewForm(request.GET)
        if preview_form.is_valid():
            frequency = preview_form.cleaned_data["preview"]
            period_last = selectors.last_complete_period(frequency, local_today(request.tenant.time_zone))
            digest = selectors.digest_build(tenant=request.tenant, membership=me, frequency=frequency, period_last=period_last)
            preview = services.digest_context(digest)
    kind = selectors.audience(me.role)
    context = {
        "form": form,
        "preview_form": preview_form,
        "preview": preview,
        "contents": selectors.AUDIENCES[kind],
        "audience": kind,
        "recent": DigestSend.objects.filter(membership=me).order_by("-period_last", "-id")[:RECENT],
    }
    status = 400 if form.errors or preview_form.errors else 200
    return render(request, "digests/preferences.html", context, status=status)
