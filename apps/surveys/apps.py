from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "apps.surveys"
    label = "surveys"

    def ready(self):
        # Connects the request-log redaction of respondent tokens before the first request is logged.
        from apps.surveys import receivers  # noqa: F401
        from apps.surveys.respond import views  # noqa: F401
