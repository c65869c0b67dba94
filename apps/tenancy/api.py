"""The API entry point's tenant chokepoint and role permission (authentication: authentication.py).

Every tenant API view subclasses `TenantApi`: `initial()` authenticates, then resolves the URL's
tenant, checks the caller belongs to it (membership, or an API key of that tenant) and activates
it, then checks the role. A tenant the caller does not belong to answers 404, exactly like a
tenant that does not exist.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions, generics, permissions
from rest_framework.views import APIView

from apps.core.errors import NOT_FOUND_MESSAGE
from apps.tenancy import idempotency
from apps.tenancy.context import tenant_context
from apps.tenancy.models import EVERYONE, ApiKey
from apps.tenancy.selectors import SSO_SESSION_KEY, TenantAccess, membership_get_for_user, tenant_get_by_slug, two_factor_missing

LAST_USED_RESOLUTION = timedelta(minutes=1)


class HasTenantRole(permissions.BasePermission):
    message = "Your role in this workspace does not allow this."

    def has_permission(self, request, view):
        access = getattr(request, "tenant_access", None)
        return access is not None and access.role in view.get_required_roles(request)


class TenantApi(APIView):
    """Base class of every `/api/v1/t/<tenant_slug>/…` view.

    `read_roles` may use safe methods, `write_roles` the others (default: same as read).
    Every POST honours an `Idempotency-Key` header (apps.tenancy.idempotency).
    """

    permission_classes = [permissions.IsAuthenticated, HasTenantRole]
    read_roles: frozenset = EVERYONE
    write_roles: frozenset | None = None

    def get_required_roles(self, request) -> frozenset:
        if request.method in permissions.SAFE_METHODS:
            return self.read_roles
        return self.write_roles if self.write_roles is not None else self.read_roles

    def dispatch(self, request, *args, **kwargs):
        self._tenant_stack = contextlib.ExitStack()
        with transaction.atomic():
            try:
                response = super().dispatch(request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                return response
            finally:
                self._tenant_stack.close()

    def initial(self, request, *args, **kwargs):
        # DRF's initial(), with the tenant activated between authentication and permissions.
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        self.perform_authentication(request)
        self.activate_tenant(request, kwargs.get("tenant_slug", ""))
        self.check_permissions(request)
        self.check_throttles(request)
        self._idempotency_claim = idempotency.begin(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        idempotency.finish(getattr(self, "_idempotency_claim", None), response)
        return response

    def activate_tenant(self, request, slug: str) -> None:
        request.tenant = request.tenant_access = None
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        tenant = tenant_get_by_slug(slug)
        if tenant is None:
            raise exceptions.NotFound(NOT_FOUND_MESSAGE)
        self._tenant_stack.enter_context(tenant_context(tenant))
        if isinstance(request.auth, ApiKey):
            if request.auth.tenant_id != tenant.pk:
                raise exceptions.NotFound(NOT_FOUND_MESSAGE)
            access = TenantAccess(tenant=tenant, role=request.auth.role, api_key=request.auth)
            _touch_api_key(request.auth)
        else:
            membership = membership_get_for_user(user=request.user)
            if membership is None:
                raise exceptions.NotFound(NOT_FOUND_MESSAGE)
            session = getattr(request._request, "session", None)
            through_sso = session is not None and tenant.pk in session.get(SSO_SESSION_KEY, [])
            if tenant.require_sso and not through_sso:
                raise exceptions.PermissionDenied(f"{tenant.name} signs its members in through single sign-on: sign in there "
                                                  "first (/accounts/sso/), or use an API key.")
            if not through_sso and two_factor_missing(user=request.user, tenant=tenant):
                raise exceptions.PermissionDenied(f"{tenant.name} requires two-factor sign-in: add an authenticator app or a passkey "
                                                  "at /accounts/2fa/ first, or use an API key.")
            access = TenantAccess(tenant=tenant, role=membership.role, membership=membership)
        request.tenant = tenant
        request.tenant_access = access
        # Django's HttpRequest, for code that reads it rather than DRF's wrapper.
        request._request.tenant = tenant
        request._request.tenant_access = access


class TenantGenericApi(TenantApi, generics.GenericAPIView):
    """Generic views over one tenant model, looked up by its public UUID."""

    lookup_field = "uuid"
    lookup_url_kwarg = "uuid"

    def get_queryset(self):
        # During OpenAPI generation no tenant is active and scoped managers hand out empty
        # querysets (apps.tenancy.context.schema_introspection_without_tenant).
        return self.get_tenant_queryset()

    def get_tenant_queryset(self):
        raise NotImplementedError


def _touch_api_key(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
