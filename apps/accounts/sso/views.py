"""Single sign-on pages (issue 21 item 2): "Sign in with single sign-on" (the work e-mail finds its workspace's
provider), the provider's return, and the admin page where a workspace configures it."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.sso import oidc
from apps.accounts.sso.forms import SsoConnectionForm, SsoStartForm
from apps.accounts.sso.services import (
    sso_client_secret,
    sso_connection_by_uuid_including_cross_tenant,
    sso_connection_delete,
    sso_connection_for_email_including_cross_tenant,
    sso_connection_get,
    sso_connection_save,
    sso_secret_reveal,
    sso_sign_in,
)
from apps.core.crypto import Undecryptable
from apps.core.forms import add_service_errors
from apps.core.ratelimit import client_ip
from apps.tenancy.models import ADMINS
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.selectors import SSO_SESSION_KEY

PENDING = "sso_pending"  # state → what the provider's return is checked against (oidc.Pending)
MAX_PENDING = 5


def _callback_url(request) -> str:
    return request.build_absolute_uri(reverse("accounts:sso_callback"))


def sso_start_redirect(request, row, *, email: str = "", next_url: str = ""):
    """Send the browser to the workspace's provider, keeping the attempt (state, nonce, PKCE verifier) in its session."""
    url, pending = oidc.authorization_request(connection=row, redirect_uri=_callback_url(request), login_hint=email, next_url=next_url)
    kept = {s: p for s, p in request.session.get(PENDING, {}).items() if time.time() - p["started_at"] < oidc.PENDING_SECONDS}
    kept = dict(sorted(kept.items(), key=lambda item: item[1]["started_at"])[-(MAX_PENDING - 1):])
    kept[pending.state] = pending.as_dict()
    request.session[PENDING] = kept
    # A page that forwards (meta refresh, and a link), not a redirect: the CSP's form-action 'self' would stop a form
    # submission that is redirected to another origin.
    response = render(request, "accounts/sso_forward.html", {"url": url, "provider": urlsplit(url).netloc})
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def sso_start_view(request):
    """The work e-mail's domain finds the workspace that signs it in; the browser goes to that provider."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = SsoStartForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        row = sso_connection_for_email_including_cross_tenant(email)
        if row is None:
            form.add_error("email", f"No workspace signs in @{email.rpartition('@')[2]} through single sign-on. Sign in with your password.")
        else:
            try:
                return sso_start_redirect(request, row, email=email, next_url=next_url)
            except oidc.SsoError as exc:
                form.add_error(None, str(exc))
    return render(request, "accounts/sso_start.html", {"form": form, "next": next_url}, status=400 if form.errors else 200)


def _refuse(request, message: str, status: int = 400):
    return render(request, "accounts/sso_refused.html", {"message": message}, status=status)


@never_cache
def sso_callback_view(request):
    """The provider's return: the state must be one this browser started, then the code is exchanged and the id token
    checked (oidc.validate_id_token) before anybody is signed in."""
    pending_all = request.session.get(PENDING, {})
    state = request.GET.get("state", "")
    pending = pending_all.pop(state, None) if state else None
    request.session[PENDING] = pending_all
    if pending is None or time.time() - pending["started_at"] > oidc.PENDING_SECONDS:
        return _refuse(request, "This sign-in was not started in this browser, or it took too long. Start again.")
    if request.GET.get("error"):
        reason = request.GET.get("error_description") or request.GET["error"]
        return _refuse(request, f"The identity provider did not sign you in: {reason[:200]}")
    code = request.GET.get("code", "")
    row = sso_connection_by_uuid_including_cross_tenant(pending["connection"])
    if not code or row is None or not row.is_enabled:
        return _refuse(request, "This workspace's single sign-on is not available any more.")
    try:
        tokens = oidc.exchange_code(connection=row, client_secret=sso_client_secret(row), code=code, verifier=pending["verifier"],
                                    redirect_uri=_callback_url(request))
        document = oidc.discovery(row.issuer)
        claims = oidc.validate_id_token(tokens["id_token"], issuer=row.issuer, client_id=row.client_id, nonce=pending["nonce"],
                                        jwks_uri=document["jwks_uri"])
        if not claims.get("email") and tokens.get("access_token"):
            info = oidc.userinfo(issuer=row.issuer, access_token=tokens["access_token"])
            if info.get("sub") == claims["sub"]:
                claims = {**info, **claims, "email": info.get("email"), "email_verified": info.get("email_verified")}
        user, membership, joined = sso_sign_in(row=row, claims=claims, ip_address=client_ip(request))
    except oidc.SsoError as exc:
        return _refuse(request, str(exc))
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SSO_SESSION_KEY] = sorted({*request.session.get(SSO_SESSION_KEY, []), row.tenant_id})
    tenant = membership.tenant
    if joined:
        messages.success(request, f"Welcome to {tenant.name}.")
    target = pending.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("tenancy:home", tenant_slug=tenant.slug)


# --- the admin page ----------------------------------------------------------------------------------

@tenant_role_required(ADMINS)
def sso_settings_view(request, tenant_slug):
    row = sso_connection_get()
    form = SsoConnectionForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in SsoConnectionForm.Meta.fields}
        try:
            sso_connection_save(tenant=request.tenant, acting_user=request.user, data=data, client_secret=form.cleaned_data["client_secret"],
                                ip_address=client_ip(request), proven=request.tenant.pk in request.session.get(SSO_SESSION_KEY, []))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Single sign-on saved.")
            return redirect("tenancy:sso", tenant_slug=tenant_slug)
    context = {"form": form, "row": row, "callback_url": _callback_url(request), "revealed": None}
    return render(request, "accounts/sso_settings.html", context, status=400 if form.errors else 200)


@require_POST
@tenant_role_required(ADMINS)
def sso_reveal_view(request, tenant_slug):
    row = sso_connection_get()
    if row is None:
        return redirect("tenancy:sso", tenant_slug=tenant_slug)
    try:
        revealed = sso_secret_reveal(tenant=request.tenant, row=row, acting_user=request.user, ip_address=client_ip(request))
    except Undecryptable as exc:
        messages.error(request, str(exc))
        return redirect("tenancy:sso", tenant_slug=tenant_slug)
    context = {"form": SsoConnectionForm(instance=row), "row": row, "callback_url": _callback_url(request), "revealed": revealed}
    response = render(request, "accounts/sso_settings.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_role_required(ADMINS)
def sso_delete_view(request, tenant_slug):
    sso_connection_delete(tenant=request.tenant, acting_user=request.user, ip_address=client_ip(request))
    messages.success(request, "Single sign-on removed: members sign in with their passwords.")
    return redirect("tenancy:sso", tenant_slug=tenant_slug)
