"""Tenant API routes, mounted at /api/v1/t/<tenant_slug>/ (the TenantApi chokepoint)."""

from django.urls import path

from apps.tenancy import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("settings/", apis.TenantSettingsApi.as_view(), name="settings"),
    path("members/", apis.MemberListApi.as_view(), name="member-list"),
    path("members/<uuid:uuid>/", apis.MemberDetailApi.as_view(), name="member-detail"),
    path("members/<uuid:uuid>/deactivate/", apis.MemberDeactivateApi.as_view(), name="member-deactivate"),
    path("members/<uuid:uuid>/reactivate/", apis.MemberReactivateApi.as_view(), name="member-reactivate"),
    path("teams/", apis.TeamListApi.as_view(), name="team-list"),
    path("teams/<uuid:uuid>/", apis.TeamDetailApi.as_view(), name="team-detail"),
    path("api-keys/", apis.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<uuid:uuid>/", apis.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("audit-events/", apis.AuditEventListApi.as_view(), name="audit-event-list"),
]
