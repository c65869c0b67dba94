from django.urls import path

from apps.integrations.views import webhooks as views

app_name = "webhooks"

urlpatterns = [
    path("settings/webhooks/", views.endpoint_list, name="list"),
    path("settings/webhooks/new/", views.endpoint_create, name="create"),
    path("settings/webhooks/<uuid:uuid>/", views.endpoint_detail, name="detail"),
    path("settings/webhooks/<uuid:uuid>/edit/", views.endpoint_edit, name="edit"),
    path("settings/webhooks/<uuid:uuid>/secret/", views.endpoint_reveal, name="reveal"),
    path("settings/webhooks/<uuid:uuid>/rotate/", views.endpoint_rotate, name="rotate"),
    path("settings/webhooks/<uuid:uuid>/test/", views.endpoint_test, name="test"),
    path("settings/webhooks/<uuid:uuid>/enable/", views.endpoint_enable, name="enable"),
    path("settings/webhooks/<uuid:uuid>/disable/", views.endpoint_disable, name="disable"),
    path("settings/webhooks/<uuid:uuid>/delete/", views.endpoint_delete, name="delete"),
    path("settings/webhooks/deliveries/<uuid:uuid>/redeliver/", views.delivery_redeliver, name="redeliver"),
]
