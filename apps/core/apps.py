from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self):
        # Every process (gunicorn, Celery, runserver, manage.py) sets Django up through here.
        from apps.core.checks import refuse_to_start_without_a_shared_cache

        refuse_to_start_without_a_shared_cache()
