"""Error pages (JSON under /api/, HTML elsewhere) and the offline API docs page."""

import sys

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularSwaggerSplitView

from apps.core.errors import (
    NOT_FOUND_MESSAGE,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_CODE,
    UNAVAILABLE_MESSAGE,
    database_unavailable,
    json_error_response,
    unavailable_headers,
)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        return json_error_response("bad_request", "The request could not be understood.", 400)
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    if _is_api(request):
        return json_error_response("permission_denied", "You do not have permission to perform this action.", 403)
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    if _is_api(request):
        return json_error_response("not_found", NOT_FOUND_MESSAGE, 404)
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # Django calls this inside its `except` block: a database node that cannot be reached is a 503.
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if _is_api(request):
        return json_error_response("server_error", "Something went wrong on our side; nothing was saved.", 500)
    return render(request, "errors/500.html", status=500)


def service_unavailable(request):
    """503 with Retry-After: JSON under /api/, else a page rendered without the request (its context
    processors would query the database that just failed)."""
    if _is_api(request):
        response = json_error_response(UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, 503)
    else:
        html = render_to_string("errors/503.html", {"message": UNAVAILABLE_MESSAGE, "retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(html, status=503)
    for header, value in unavailable_headers().items():
        response[header] = value
    return response


# Swagger UI styles itself with inline style attributes; scripts stay strictly 'self'.
@method_decorator(csp_update({"style-src": [SELF, UNSAFE_INLINE], "img-src": [SELF, "data:"]}), name="dispatch")
class ApiDocsView(SpectacularSwaggerSplitView):
    pass
