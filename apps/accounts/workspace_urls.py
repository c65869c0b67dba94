"""Accounts' workspace settings pages, mounted at /t/<tenant_slug>/ in the `tenancy` namespace beside
apps/tenancy/urls.py (cxm/urls.py joins the two), so their names stay `tenancy:members` and
`tenancy:invitation_revoke`."""

from django.urls import path

from apps.accounts import workspace_views
from apps.accounts.sso import views as sso_views

urlpatterns = [
    path("settings/members/", workspace_views.member_list, name="members"),
    path("settings/invitations/<uuid:uuid>/revoke/", workspace_views.invitation_revoke_view, name="invitation_revoke"),
    path("settings/sso/", sso_views.sso_settings_view, name="sso"),
    path("settings/sso/reveal/", sso_views.sso_reveal_view, name="sso_reveal"),
    path("settings/sso/delete/", sso_views.sso_delete_view, name="sso_delete"),
]
