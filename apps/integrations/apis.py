"""REST API for webhook endpoints (admins only): register, list, change, delete, rotate the signing
secret, read the delivery log. The secret travels only in the answers to create and rotate-secret
(store it then); the pages can reveal it again to an admin. URLs are checked like on the pages: https,
public addresses only (SSRF guard, apps/integrations/network.py)."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.integrations import selectors, services
from apps.integrations.models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import ADMINS


def _actor(request):
    """The member acting (a person), or the API key's user (audited as the key)."""
    access = request.tenant_access
    return access.membership if getattr(access, "membership", None) is not None else request.user


# --- output -------------------------------------------------------------------------------------

class EndpointOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), read_only=True,
                                   help_text="Event types delivered. Slack endpoints: [\"response.created\"] (detractor alerts).")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "kind", "url", "description", "events", "is_active", "created_at", "updated_at"]


class EndpointWithSecretOutput(EndpointOutput):
    secret = serializers.CharField(read_only=True, help_text="whsec_<base64>: the signing key. Returned by create and "
                                                             "rotate-secret only: store it now.")

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret"]


class AttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["attempted_at", "status_code", "error", "response_excerpt", "duration_ms"]


class DeliveryOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    webhook_id = serializers.CharField(source="event_id", read_only=True, help_text="The webhook-id header (msg_…), the same on every retry.")
    attempts_log = AttemptOutput(source="attempt_log", many=True, read_only=True, help_text="Every try, oldest first.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_type", "webhook_id", "status", "attempts", "next_attempt_at", "last_status_code", "last_error",
                  "delivered_at", "created_at", "payload", "attempts_log"]


# --- inputs -------------------------------------------------------------------------------------

class EndpointInputBase(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text="https:// on a public address (private, loopback and link-local refused).")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), required=False,
                                   help_text="At least one for a standard endpoint; ignored for Slack.")


CREATE_EXAMPLE = {"url": "https://hooks.example.com/cxm", "kind": "standard", "events": ["case.opened", "case.resolved"],
                  "description": "CRM ticket sync"}


@extend_schema_view(get=extend_schema(summary="List webhook endpoints"), post=extend_schema(summary="Register a webhook endpoint"))
class EndpointListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = ADMINS
    serializer_class = EndpointOutput
    queryset_model = WebhookEndpoint

    class Input(EndpointInputBase):
        kind = serializers.ChoiceField(choices=WebhookEndpoint.Kind.choices, required=False, default=WebhookEndpoint.Kind.STANDARD)

    def get_tenant_queryset(self):
        return WebhookEndpoint.objects.order_by("-created_at", "-id")

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: EndpointWithSecretOutput},
                   examples=[OpenApiExample("Signed events for a CRM", value=CREATE_EXAMPLE, request_only=True),
                             OpenApiExample("Slack detractor alerts", request_only=True,
                                            value={"url": "https://hooks.slack.com/services/T000/B000/XXXX", "kind": "slack"})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(tenant=request.tenant, acting_member=_actor(request), **data.validated_data)
        return Response(EndpointWithSecretOutput(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a webhook endpoint"), patch=extend_schema(summary="Change a webhook endpoint"),
                    delete=extend_schema(summary="Delete a webhook endpoint", description="Deletes it with its delivery log."))
class EndpointDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = ADMINS
    serializer_class = EndpointOutput
    queryset_model = WebhookEndpoint

    class Input(EndpointInputBase):
        url = serializers.CharField(max_length=500, required=False)
        is_active = serializers.BooleanField(required=False, help_text="false pauses deliveries; true sends what waited.")

    def get_tenant_queryset(self):
        return WebhookEndpoint.objects.all()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=EndpointOutput,
                   examples=[OpenApiExample("Pause deliveries", value={"is_active": False}, request_only=True),
                             OpenApiExample("Subscribe to resolutions too", request_only=True,
                                            value={"events": ["case.opened", "case.resolved"]})])
    def patch(self, request, *args, **kwargs):
        endpoint = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(tenant=request.tenant, acting_member=_actor(request), endpoint=endpoint, **data.validated_data)
        return Response(EndpointOutput(endpoint).data)

    def delete(self, request, *args, **kwargs):
        endpoint = self.get_object()
        services.endpoint_delete(tenant=request.tenant, acting_member=_actor(request), endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretApi(TenantGenericApi):
    read_roles = ADMINS
    serializer_class = EndpointWithSecretOutput
    queryset_model = WebhookEndpoint

    def get_tenant_queryset(self):
        return WebhookEndpoint.objects.all()

    @extend_schema(summary="Rotate an endpoint's signing secret", request=None, responses=EndpointWithSecretOutput,
                   description="A new secret; the old one stops verifying at once. The answer carries the new secret.")
    def post(self, request, *args, **kwargs):
        endpoint = services.endpoint_rotate_secret(tenant=request.tenant, acting_member=_actor(request), endpoint=self.get_object())
        return Response(EndpointWithSecretOutput(endpoint).data)


@extend_schema_view(get=extend_schema(summary="List an endpoint's deliveries",
                                      description="Newest first, each with its attempts (the delivery log)."))
class EndpointDeliveryListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = ADMINS
    serializer_class = DeliveryOutput
    queryset_model = WebhookEndpoint

    def get_tenant_queryset(self):
        return WebhookEndpoint.objects.all()

    def get(self, request, *args, **kwargs):
        endpoint = self.get_object()
        page = self.paginate_queryset(selectors.delivery_log(endpoint))
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)
