"""The page entry point's tenant chokepoint.

Any page route whose URL carries `tenant_slug` (the `/t/<tenant_slug>/…` tree) is resolved here:
unknown slug or no active membership → 404 (the same page either way); anonymous → login; a member without
a second factor in a workspace that requires one → the two-factor page (apps/accounts/auth.py); a session that
did not come through the single sign-on of a workspace that requires it → that sign-on. The view
then runs inside `tenant_context()` (one transaction; rolled back on a 5xx), with `request.tenant`
and `request.tenant_access` set. API routes are left to `TenantApi`, their own chokepoint.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from apps.tenancy.context import tenant_context
from apps.tenancy.selectors import SSO_SESSION_KEY, TenantAccess, membership_get_for_user, tenant_get_by_slug, two_factor_missing

TENANT_KWARG = "tenant_slug"


def _is_api(match) -> bool:
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    from apps.tenancy.api import TenantApi

    return isinstance(view_class, type) and issubclass(view_class, TenantApi)


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.tenant_access = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if TENANT_KWARG not in match.kwargs or _is_api(match):
            return self.get_response(request)

        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        tenant = tenant_get_by_slug(match.kwargs[TENANT_KWARG])
        if tenant is None:
            raise Http404("No such workspace.")
        with tenant_context(tenant):
            membership = membership_get_for_user(user=request.user)
            if membership is None:
                raise Http404("No such workspace.")
            through_sso = tenant.pk in request.session.get(SSO_SESSION_KEY, [])
            if tenant.require_sso and not through_sso:
                messages.warning(request, f"{tenant.name} signs its members in through single sign-on.")
                return redirect(f"{reverse('accounts:sso_start')}?{urlencode({'email': request.user.email, 'next': request.get_full_path()})}")
            if not through_sso and two_factor_missing(user=request.user, tenant=tenant):
                messages.warning(request, f"{tenant.name} requires two-factor sign-in. Add an authenticator app or a passkey to continue.")
                return redirect(f"{reverse('mfa_index')}?next={quote(request.get_full_path())}")
            request.tenant = tenant
            request.tenant_access = TenantAccess(tenant=tenant, role=membership.role, membership=membership)
            if request.session.get("last_tenant") != tenant.slug:
                request.session["last_tenant"] = tenant.slug
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response
