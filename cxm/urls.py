"""URL map. Tenant pages live under /t/<tenant_slug>/ and the tenant API under
/api/v1/t/<tenant_slug>/; everything else is global and listed in tests/test_url_isolation.py."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from apps.accounts import workspace_urls as accounts_workspace_urls
from apps.core import views as core_views
from apps.core.health import CxmHealthView
from apps.tenancy import urls as tenancy_urls

tenant_pages = [
    # Workspace settings: tenancy's pages and accounts' members/invitation pages share the `tenancy`
    # namespace (tenancy sits below accounts and does not import it; the two are joined here).
    path("", include((tenancy_urls.urlpatterns + accounts_workspace_urls.urlpatterns, tenancy_urls.app_name))),
    path("", include("apps.clients.urls")),
    path("", include("apps.touchpoints.touchpoints.urls")),
    path("", include("apps.touchpoints.interactions.urls")),
    path("", include("apps.journeys.urls")),
    path("", include("apps.imports.urls")),
    path("", include("apps.surveys.builder.urls")),
    path("", include("apps.surveys.distribution.urls")),
    path("", include("apps.surveys.responses.urls")),
    path("", include("apps.surveys.themes.urls")),
    path("", include("apps.surveys.kiosks.urls")),
    path("", include("apps.surveys.history.urls")),
    path("", include("apps.dashboards.urls")),
    path("", include("apps.feedback.announcements.urls")),
    path("", include("apps.feedback.cases.urls")),
    path("", include("apps.feedback.alerts.urls")),
    path("", include("apps.integrations.urls")),
    path("", include("apps.feedback.plans.urls")),
    path("", include("apps.feedback.audits.urls")),
    path("", include("apps.digests.urls")),
]

tenant_api = [
    path("", include("apps.tenancy.api_urls")),
    path("", include("apps.accounts.api_urls")),
    path("", include("apps.clients.api_urls")),
    path("", include("apps.touchpoints.touchpoints.api_urls")),
    path("", include("apps.touchpoints.interactions.api_urls")),
    path("", include("apps.journeys.api_urls")),
    path("", include("apps.imports.api_urls")),
    path("", include("apps.surveys.builder.api_urls")),
    path("", include("apps.surveys.distribution.api_urls")),
    path("", include("apps.surveys.responses.api_urls")),
    path("", include("apps.surveys.themes.api_urls")),
    path("", include("apps.surveys.history.api_urls")),
    path("", include("apps.metrics.api_urls")),
    path("", include("apps.integrations.api_urls")),
    path("", include("apps.feedback.plans.api_urls")),
    path("", include("apps.feedback.cases.api_urls")),
    path("", include("apps.feedback.announcements.api_urls")),
]

urlpatterns = [
    path("", include("apps.accounts.auth_urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.surveys.respond.public_urls")),
    path("", include("apps.feedback.announcements.public_urls")),
    path("t/<slug:tenant_slug>/", include(tenant_pages)),
    path("api/v1/t/<slug:tenant_slug>/", include(tenant_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", core_views.ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("health/", CxmHealthView.as_view(), name="health"),
    path("ops/admin/", admin.site.urls),
]

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
