"""Health: database, cache and the Celery broker, as one JSON/HTML/text report (django-health-check)."""

import dataclasses

from django.conf import settings
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView


@dataclasses.dataclass
class Broker(HealthCheck):
    """Open (and close) a connection to the Celery broker. With in-process tasks (the zero-setup
    demo) there is no broker to reach, and the check says so."""

    def run(self):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        from cxm.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
        except Exception as exc:  # kombu raises transport-specific errors
            raise ServiceUnavailable(f"broker unreachable: {type(exc).__name__}") from exc

    def __repr__(self):
        return "Broker (eager: tasks run in-process)" if settings.CELERY_TASK_ALWAYS_EAGER else "Broker"


class CxmHealthView(HealthCheckView):
    checks = (Database, Cache, Broker)
