"""Tenant API routes of accounts (workspace invitations), mounted at /api/v1/t/<tenant_slug>/ (the
TenantApi chokepoint) beside tenancy's."""

from django.urls import path

from apps.accounts import apis

urlpatterns = [
    path("invitations/", apis.InvitationListApi.as_view(), name="invitation-list"),
    path("invitations/<uuid:uuid>/", apis.InvitationDetailApi.as_view(), name="invitation-detail"),
]
