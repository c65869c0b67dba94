"""A database node that cannot be reached answers 503 with Retry-After, never a 500.

On Citus a tenant's rows live on one worker; when that worker is down, every query for the tenant fails
with "connection to the remote node … failed" (apps/core/errors.database_unavailable). Views raising it are
answered here; the same errors raised earlier (middleware, e.g. the tenant's membership check) reach
`handler500` (apps/core/views.server_error), which answers the same 503. The tenant's transaction is rolled
back either way (apps/tenancy/middleware rolls back every 5xx), and the answer names no data at all.
"""

import structlog

from apps.core.errors import database_unavailable
from apps.core.views import service_unavailable

logger = structlog.get_logger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        logger.warning("database_unavailable", path=request.path, error=str(exception).strip().splitlines()[0])
        return service_unavailable(request)
