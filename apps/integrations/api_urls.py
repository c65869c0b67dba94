"""Webhook endpoint API, mounted at /api/v1/t/<tenant_slug>/ (admins only)."""

from django.urls import path

from apps.integrations import apis

urlpatterns = [
    path("webhooks/", apis.EndpointListApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:uuid>/", apis.EndpointDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:uuid>/rotate-secret/", apis.EndpointRotateSecretApi.as_view(), name="webhook-rotate-secret"),
    path("webhooks/<uuid:uuid>/deliveries/", apis.EndpointDeliveryListApi.as_view(), name="webhook-deliveries"),
]
