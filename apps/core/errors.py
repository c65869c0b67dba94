"""JSON errors with a stable `code` for the API, and JSON 404/500 pages under /api/.

Body: {"error": {"code": "<stable code>", "message": "<human text>", "fields": {...}}}. Another
tenant's object and a missing object produce byte-identical 404 bodies.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

NOT_FOUND_MESSAGE = "Not found."

_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


class QueryParamError(exceptions.ValidationError):
    """400 `{"error": {"code": <code>, "message": ..., "fields": {<parameter>: [<message>]}}}`: a query
    parameter refused with its own stable code (e.g. `invalid_page`, `range_reversed`)."""

    def __init__(self, code: str, parameter: str, message: str):
        super().__init__({parameter: [message]})
        self.error_code = code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return body


def api_exception_handler(exc, context):
    # A failed request writes nothing: roll back whatever the request's transaction holds.
    if transaction.get_connection().in_atomic_block:
        transaction.set_rollback(True)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND_MESSAGE)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "error_code", None) or _code_for(exc)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(code, "The request is invalid; see fields.", detail)
    elif isinstance(exc, exceptions.NotFound):
        response.data = error_body(code, NOT_FOUND_MESSAGE)
    else:
        response.data = error_body(code, str(exc.detail))
    return response


def _code_for(exc) -> str:
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return "error"


def json_error_response(code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)

