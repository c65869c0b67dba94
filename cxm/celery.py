"""The Celery application. The one beat schedule lives in settings (CELERY_BEAT_SCHEDULE)."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.base")

app = Celery("cxm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def drop_unusable_connections(sender=None, **kwargs) -> None:
    """Before each task, as Django does before each request: a connection that broke (Postgres restarted)
    or outlived CONN_MAX_AGE is closed, and the task opens a fresh one. With CELERY_DB_REUSE_MAX set,
    Celery's own fix-up keeps healthy connections between tasks."""
    if getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
