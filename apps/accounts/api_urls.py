"""Tenant API routes of accounts (workspace invitations), mounted at /api/v1/t/<tenant_slug>/ (the
TenantApi chokepoint) beside tenancy's."""

from django.urls import path

from apps.accounts import apis
from apps.accounts.sso import apis as sso_apis

urlpatterns = [
    path("invitations/", apis.InvitationListApi.as_view(), name="invitation-list"),
    path("invitations/<uuid:uuid>/", apis.InvitationDetailApi.as_view(), name="invitation-detail"),
    path("sso/", sso_apis.SsoApi.as_view(), name="sso"),
    path("sso/reveal-secret/", sso_apis.SsoRevealSecretApi.as_view(), name="sso-reveal-secret"),
]
