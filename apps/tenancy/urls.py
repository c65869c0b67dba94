"""Tenant pages, mounted at /t/<tenant_slug>/ (the TenantMiddleware chokepoint) in the `tenancy` namespace,
with accounts' members and invitation pages (apps/accounts/workspace_urls.py; cxm/urls.py joins them)."""

from django.urls import path

from apps.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.tenant_home, name="home"),
    path("settings/", views.tenant_settings, name="settings"),
    path("settings/members/<uuid:uuid>/", views.member_edit, name="member_edit"),
    path("settings/members/<uuid:uuid>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("settings/members/<uuid:uuid>/reactivate/", views.member_reactivate, name="member_reactivate"),
    path("settings/teams/", views.team_create, name="team_create"),
    path("settings/teams/<uuid:uuid>/delete/", views.team_delete, name="team_delete"),
    path("settings/api-keys/", views.api_key_list, name="api_keys"),
    path("settings/api-keys/<uuid:uuid>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("settings/audit/", views.audit_log, name="audit"),
]
