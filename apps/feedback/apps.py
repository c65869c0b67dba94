from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "apps.feedback"
    label = "feedback"
    verbose_name = "Closing the loop: alert rules, cases, action plans"

    def ready(self):
        from apps.feedback import receivers  # noqa: F401 - connects the domain-event receivers
