from django.apps import AppConfig


class TouchpointsConfig(AppConfig):
    name = "apps.touchpoints"
    label = "touchpoints"
