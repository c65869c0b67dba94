from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = "Integrations: signed webhooks and Slack"

    def ready(self):
        from apps.integrations import receivers  # noqa: F401 - connects the domain-event receivers
