"""Health: database, cache and the Celery broker, as one JSON/HTML/text report (django-health-check).

Whatever the Accept header, the answer is a report: HTML for browsers (`text/html`, `*/*`; our own
template, under the strict CSP), text or JSON when asked, and JSON for a header the library cannot
parse or serve (it would raise, or answer 406, to a load balancer).
"""

import dataclasses

from django.conf import settings
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView, MediaType


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


# The media types django-health-check answers (its views.HealthCheckView.get).
SERVED = {"text/plain", "text/html", "application/xhtml+xml", "text/*", "*/*", "application/json", "application/*",
          "application/atom+xml", "application/rss+xml", "application/openmetrics-text"}


def accept_is_served(header: str) -> bool:
    """The Accept header parses and names at least one type the health view serves."""
    try:
        return any(media.mime_type in SERVED for media in MediaType.parse_header(header))
    except ValueError:
        return False


class CxmHealthView(HealthCheckView):
    checks = (Database, Cache, Broker)
    template_name = "core/health.html"

    async def get(self, request, *args, **kwargs):
        if not request.GET.get("format") and not accept_is_served(request.headers.get("accept", "*/*")):
            request.GET = request.GET.copy()
            request.GET["format"] = "json"
        return await super().get(request, *args, **kwargs)
