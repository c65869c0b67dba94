"""Client, contact and segment API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.clients import apis

urlpatterns = [
    path("clients/", apis.ClientListApi.as_view(), name="client-list"),
    path("clients/<uuid:uuid>/", apis.ClientDetailApi.as_view(), name="client-detail"),
    path("contacts/", apis.ContactListApi.as_view(), name="contact-list"),
    path("contacts/<uuid:uuid>/", apis.ContactDetailApi.as_view(), name="contact-detail"),
    path("segments/", apis.SegmentListApi.as_view(), name="segment-list"),
    path("attributes/", apis.AttributeListApi.as_view(), name="attribute-list"),
    path("attributes/<uuid:uuid>/", apis.AttributeDetailApi.as_view(), name="attribute-detail"),
    path("segments/<uuid:uuid>/", apis.SegmentDetailApi.as_view(), name="segment-detail"),
]
