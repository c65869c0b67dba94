"""Action plans API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.feedback.plans import apis

urlpatterns = [
    path("action-plans/", apis.PlanListApi.as_view(), name="action-plan-list"),
    path("action-plans/<uuid:uuid>/", apis.PlanDetailApi.as_view(), name="action-plan-detail"),
    path("action-plans/<uuid:uuid>/cases/", apis.PlanCaseLinkApi.as_view(), name="action-plan-cases"),
    path("action-plans/<uuid:uuid>/cancel/", apis.PlanCancelApi.as_view(), name="action-plan-cancel"),
]
