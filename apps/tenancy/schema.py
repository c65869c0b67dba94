"""OpenAPI (drf-spectacular) integration: the Bearer API-key scheme, and schema generation that
never needs a tenant."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from apps.tenancy.context import schema_introspection_without_tenant


class TenantAwareSchemaGenerator(SchemaGenerator):
    def get_schema(self, request=None, public=False):
        with schema_introspection_without_tenant():
            return super().get_schema(request=request, public=public)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.tenancy.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant API key (`cxm_<prefix>_<secret>`), created by an admin; it acts with its role.",
        }


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Optional. A unique key (a UUID) for this request: retrying the POST with the same key returns the first "
                "response (header `Idempotent-Replayed: true`) instead of acting twice. Kept 24 hours per caller. "
                "Reusing a key for a different request answers 422 `idempotency_key_reused`.",
)


class AutoSchema(openapi.AutoSchema):
    """Names nested Input/Output serializers after their view (`MemberDetailApi.Input` →
    `MemberDetailInput`), so HackSoft-style nested serializers never collide in the schema;
    documents the `Idempotency-Key` header on every POST."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters = [*parameters, IDEMPOTENCY_KEY_PARAMETER]
        return parameters

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            owner, _, name = qualname.rpartition(".")
            return owner.replace(".", "").removesuffix("Api") + name
        return super().get_serializer_name(serializer, direction)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code, e.g. `validation_error`, `not_found`."},
                "message": {"type": "string", "description": "Human-readable explanation."},
                "fields": {"type": "object", "additionalProperties": True,
                           "description": "For `validation_error`: the messages per input field (or query parameter)."},
            },
        },
    },
}

_ERRORS = {
    "400": "`validation_error` (see `fields`), `parse_error`, `idempotency_key_invalid`; for query parameters their own "
           "codes (`invalid_page`, `invalid_page_size`, `page_out_of_range`, the metrics' `invalid_date`, `range_reversed`…).",
    "401": "`not_authenticated`, `invalid_api_key`.",
    "403": "`permission_denied`: your role (or your API key's role) does not allow this.",
    "404": "`not_found`: no such object in this workspace, or no such workspace for you (the same answer).",
    "422": "`idempotency_key_reused`: the Idempotency-Key was used for a different request.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the JSON error body and the codes each tenant operation can answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/t/"):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = ["401", "403", "404"]
            has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))  # page and page_size too
            if method in ("post", "put", "patch") or has_query:
                codes.insert(0, "400")
            if method == "post":
                codes.append("422")
            for code in codes:
                operation["responses"].setdefault(code, {"description": _ERRORS[code], "content": {"application/json": {"schema": ref}}})
    return result
