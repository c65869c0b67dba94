from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "apps.metrics"
    label = "metrics"
    verbose_name = "Metrics"

    def ready(self):
        from apps.metrics import receivers  # noqa: F401 - connects the domain-event receivers
