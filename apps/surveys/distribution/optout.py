"""The opt-out link of every survey e-mail: /s/<token>/opt-out/ (global: the token finds its tenant).

GET only shows a confirmation (mail scanners open links; a GET never changes anything). POST flags
the contact opted out, skips their queued invitations and cancels pending e-mails — also for an
expired invitation's link. RFC 8058 one-click unsubscribe posts here without a form, so the POST
needs no CSRF token: the link's unguessable token is the capability. An unknown token gets one
generic 404 page.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.messaging.services import sender_name
from apps.surveys.distribution.selectors import invitation_get_by_token_including_cross_tenant
from apps.surveys.distribution.services import contact_opt_out
from apps.surveys.i18n import ui_text
from apps.tenancy.context import tenant_context


def _strings(lang: str, org: str, *keys: str) -> dict:
    """The respondent-facing strings (RESPONDENT's apps/surveys/i18n.py), `{org}` filled in."""
    return {key: ui_text(lang, key, org=org) for key in keys}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def optout_view(request, token):
    invitation = invitation_get_by_token_including_cross_tenant(token)
    if invitation is None:
        lang = "en"
        return render(request, "respond/optout_gone.html",
                      {"lang": lang, **_strings(lang, "", "unavailable_title", "unavailable_body")}, status=404)
    tenant = invitation.tenant
    with tenant_context(tenant):
        lang = invitation.language
        sender = sender_name(tenant)
        if request.method == "POST":
            contact_opt_out(tenant=tenant, invitation=invitation)
            return render(request, "respond/optout_done.html",
                          {"lang": lang, **_strings(lang, sender, "optout_done_title", "optout_done_body")})
        return render(request, "respond/optout.html",
                      {"lang": lang, **_strings(lang, sender, "optout_title", "optout_body", "optout_confirm")})
