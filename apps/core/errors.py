"""JSON errors with a stable `code` for the API, and JSON 404/500/503 pages under /api/.

Body: {"error": {"code": "<stable code>", "message": "<human text>", "fields": {...}}}. Another
tenant's object and a missing object produce byte-identical 404 bodies.

A database node that cannot be reached (on Citus: the worker holding the tenant's shards, "connection to the
remote node 127.0.0.1:5442 failed") is not a bug of ours: such requests answer 503 with Retry-After
(`database_unavailable`), on pages (apps/core/middleware.py, apps/core/views.server_error) and in the API.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NOT_FOUND_MESSAGE = "Not found."
UNAVAILABLE_CODE = "database_unavailable"
UNAVAILABLE_MESSAGE = "Part of our database cannot be reached right now; nothing was changed. Please try again shortly."
RETRY_AFTER_SECONDS = 30

# SQLSTATEs of a node that cannot be reached: class 08 (connection exception: Citus reports an unreachable
# worker as 08006), and a server shutting down or starting (57P01-57P03).
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03")
# Citus errors without such a SQLSTATE that mean the same (a worker lost in the middle of a transaction).
_UNAVAILABLE_MESSAGES = ("failure on connection marked as essential", "connection to the remote node")


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or the driver error it wraps, its __cause__) says a database node could not be
    reached — never a query of ours that is wrong (syntax, constraint, RLS), a timeout or a deadlock."""
    connection_errors = (OperationalError, InterfaceError, *_driver_connection_errors())
    depth = 0
    while isinstance(exc, (DatabaseError, *connection_errors)) and depth < 5:
        code = getattr(exc, "pgcode", None)
        text = str(exc)
        if code and (code.startswith("08") or code in _UNAVAILABLE_SQLSTATES):
            return True
        if any(message in text for message in _UNAVAILABLE_MESSAGES):
            return True
        # Failing to connect, or a connection dropped under us, happens on the client side: no SQLSTATE.
        if code is None and isinstance(exc, connection_errors) and any(marker in text for marker in _CLIENT_SIDE_MESSAGES):
            return True
        exc, depth = exc.__cause__, depth + 1
    return False


_CLIENT_SIDE_MESSAGES = (
    "could not connect to server", "connection to server at", "server closed the connection unexpectedly",
    "connection already closed", "terminating connection",
)


def _driver_connection_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg2
    except ImportError:  # SQLite-only installs
        return ()
    return (psycopg2.OperationalError, psycopg2.InterfaceError)


def unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}

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
    if database_unavailable(exc):
        return Response(error_body(UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE), status=503, headers=unavailable_headers())
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

