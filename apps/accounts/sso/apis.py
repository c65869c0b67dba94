"""A workspace's single sign-on in the tenant API (admins; issue 21 items 2 and 5): read, set, remove, and reveal the
client secret (audited). The same services as the settings page; the secret is write-only everywhere else."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.accounts.models import SsoConnection
from apps.accounts.sso.services import sso_connection_delete, sso_connection_get, sso_connection_save, sso_secret_reveal
from apps.core.ratelimit import client_ip
from apps.tenancy.api import TenantApi
from apps.tenancy.models import ADMINS, ApiKey
from apps.tenancy.selectors import SSO_SESSION_KEY


class SsoOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    client_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                          help_text="Write-only, kept encrypted; omit or leave blank to keep the stored one.")
    client_secret_set = serializers.SerializerMethodField()

    class Meta:
        model = SsoConnection
        fields = ["id", "issuer", "client_id", "client_secret", "client_secret_set", "email_domain", "default_role", "require_sso",
                  "is_enabled", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def get_client_secret_set(self, row) -> bool:
        return bool(row.client_secret_encrypted)


class SecretOutput(serializers.Serializer):
    client_secret = serializers.CharField()


def _proven(request) -> bool:
    """An API key is not a person signing in (a requirement does not concern it); a session must have come through it."""
    if isinstance(request.auth, ApiKey):
        return True
    session = getattr(request._request, "session", None)
    return session is not None and request.tenant.pk in session.get(SSO_SESSION_KEY, [])


def _get_or_404() -> SsoConnection:
    row = sso_connection_get()
    if row is None:
        raise NotFound("This workspace has no single sign-on.")
    return row


@extend_schema_view(get=extend_schema(summary="Single sign-on settings"), put=extend_schema(summary="Set up or change single sign-on"),
                    delete=extend_schema(summary="Remove single sign-on"))
class SsoApi(TenantApi):
    """The workspace's OpenID Connect sign-on: the provider's issuer, the client id and secret registered there, the e-mail
    domain whose people sign in through it, the role of someone joining, whether it is required. The issuer is checked
    (its discovery document fetched) before anything is saved; a domain signs in to one workspace only."""

    read_roles = ADMINS

    @extend_schema(responses=SsoOutput)
    def get(self, request, tenant_slug):
        return Response(SsoOutput(_get_or_404()).data)

    @extend_schema(request=SsoOutput, responses=SsoOutput, examples=[OpenApiExample(
        "Microsoft Entra ID for northwind.example", request_only=True,
        value={"issuer": "https://login.microsoftonline.com/0b1c…/v2.0", "client_id": "5f0c8d2e-…", "client_secret": "…",
               "email_domain": "northwind.example", "default_role": "staff", "require_sso": False, "is_enabled": True})])
    def put(self, request, tenant_slug):
        current = sso_connection_get()
        data = SsoOutput(current, data=request.data, partial=current is not None)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        secret = fields.pop("client_secret", "")
        row = sso_connection_save(tenant=request.tenant, acting_user=request.user, data=fields, client_secret=secret,
                                  ip_address=client_ip(request), proven=_proven(request))
        return Response(SsoOutput(row).data, status=status.HTTP_200_OK if current else status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request, tenant_slug):
        _get_or_404()
        sso_connection_delete(tenant=request.tenant, acting_user=request.user, ip_address=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(post=extend_schema(summary="Reveal the single sign-on client secret", request=None, responses=SecretOutput))
class SsoRevealSecretApi(TenantApi):
    """The stored client secret in clear (admins). Every reveal is audited."""

    read_roles = ADMINS

    def post(self, request, tenant_slug):
        secret = sso_secret_reveal(tenant=request.tenant, row=_get_or_404(), acting_user=request.user, ip_address=client_ip(request))
        response = Response(SecretOutput({"client_secret": secret}).data)
        response["Cache-Control"] = "no-store"
        return response
