"""OpenAPI (drf-spectacular) integration: the Bearer API-key scheme, and schema generation that
never needs a tenant."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator

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


class AutoSchema(openapi.AutoSchema):
    """Names nested Input/Output serializers after their view (`MemberDetailApi.Input` →
    `MemberDetailInput`), so HackSoft-style nested serializers never collide in the schema."""

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            owner, _, name = qualname.rpartition(".")
            return owner.replace(".", "").removesuffix("Api") + name
        return super().get_serializer_name(serializer, direction)
