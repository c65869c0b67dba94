from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "apps.journeys"
    label = "journeys"

    def ready(self):
        from apps.journeys import receivers  # noqa: F401 - connects the domain-event receivers
