"""Dashboard pages, mounted at /t/<tenant_slug>/ (issue 7). Roles: apps.tenancy.roles."""

from django.urls import path

from apps.dashboards.views import admin, churn, client360, executive, journeys, overview, perception, recovery, staff

app_name = "dashboards"

urlpatterns = [
    path("dashboards/", overview.overview_view, name="overview"),
    path("dashboards/journeys/", journeys.journey_dashboard_view, name="journeys"),
    path("dashboards/churn/", churn.churn_dashboard_view, name="churn"),
    path("dashboards/perception-gap/", perception.perception_gap_view, name="perception_gap"),
    path("dashboards/recovery/", recovery.recovery_dashboard_view, name="recovery"),
    path("dashboards/executive/", executive.executive_view, name="executive"),
    path("dashboards/executive.pdf", executive.executive_pdf_view, name="executive_pdf"),
    path("dashboards/health/", admin.configuration_health_view, name="admin"),
    path("home/", staff.staff_home_view, name="staff_home"),
    path("clients/<uuid:uuid>/360/", client360.client360_view, name="client360"),
]
