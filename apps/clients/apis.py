"""REST API for clients, contacts and segments. Everyone in the workspace reads; CX leads and admins
write. Related objects travel as public uuids, looked up through the tenant-scoped managers."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from apps.clients import selectors, services
from apps.clients.filters import ClientFilter, ContactFilter
from apps.clients.models import AttributeDefinition, Client, Contact, Segment
from apps.clients.validators import EARLIEST_DAY, FUTURE_YEARS, validate_client_day
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, LEADS, Membership

DAY_RANGE = f"A day from {EARLIEST_DAY} to {FUTURE_YEARS} years after today (400 `validation_error` otherwise)."


class ClientHasInteractions(ApiValidationError):
    """400 `client_has_interactions`: a client with logged interactions cannot be deleted."""

    error_code = services.CLIENT_HAS_INTERACTIONS


# --- output -------------------------------------------------------------------------------------

class SegmentOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    client_count = serializers.IntegerField(read_only=True, help_text="How many clients are in this segment.")

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "client_count", "created_at", "updated_at"]


ATTRIBUTES_HELP = "Custom attributes {key: text}, the keys those the workspace defines (attributes/)."


class AttributeOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    token = serializers.SerializerMethodField(help_text="How survey texts name it.")

    class Meta:
        model = AttributeDefinition
        fields = ["id", "applies_to", "key", "label", "token", "created_at"]

    def get_token(self, definition) -> str:
        return f"{{{{{definition.applies_to}.{definition.key}}}}}"


class ClientOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    segment = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text="Segment id, or null.")
    segment_name = serializers.CharField(source="segment.name", read_only=True, allow_null=True, default=None)
    owner = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text="Owner: a member id, or null.")
    owner_email = serializers.EmailField(source="owner.user.email", read_only=True, allow_null=True, default=None)
    owner_name = serializers.CharField(source="owner.user.full_name", read_only=True, allow_null=True, default=None)
    contact_count = serializers.IntegerField(read_only=True)
    last_interaction_at = serializers.DateTimeField(read_only=True, allow_null=True)
    attributes = serializers.DictField(child=serializers.CharField(), read_only=True, help_text=ATTRIBUTES_HELP)

    class Meta:
        model = Client
        fields = ["id", "name", "segment", "segment_name", "industry", "tier", "owner", "owner_email", "owner_name",
                  "annual_value", "active_from", "churned_on", "status", "attributes", "contact_count", "last_interaction_at",
                  "created_at", "updated_at"]


class ContactOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    client = serializers.SlugRelatedField(slug_field="uuid", read_only=True, help_text="Client id.")
    client_name = serializers.CharField(source="client.name", read_only=True)
    attributes = serializers.DictField(child=serializers.CharField(), read_only=True, help_text=ATTRIBUTES_HELP)

    class Meta:
        model = Contact
        fields = ["id", "client", "client_name", "name", "email", "phone", "locale", "role", "opted_out", "attributes",
                  "created_at", "updated_at"]


# --- inputs -------------------------------------------------------------------------------------

class ClientInputBase(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    segment = serializers.SlugRelatedField(slug_field="uuid", queryset=Segment.objects, allow_null=True, required=False,
                                           help_text="Segment id, or null for none.")
    industry = serializers.CharField(max_length=80, required=False, allow_blank=True)
    tier = serializers.ChoiceField(choices=Client.Tier.choices, required=False)
    owner = serializers.SlugRelatedField(slug_field="uuid", queryset=Membership.objects, allow_null=True, required=False,
                                         help_text="An active member's id (see members/), or null.")
    annual_value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True, required=False)
    active_from = serializers.DateField(validators=[validate_client_day], help_text=DAY_RANGE)
    churned_on = serializers.DateField(allow_null=True, required=False, validators=[validate_client_day],
                                       help_text=f"Required when status is churned; only allowed then; not before active_from. {DAY_RANGE}")
    status = serializers.ChoiceField(choices=Client.Status.choices, required=False)
    attributes = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=200), required=False,
                                       help_text=ATTRIBUTES_HELP + " Replaces them all; an empty text removes one.")


class ContactInputBase(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    email = serializers.EmailField(required=False, allow_blank=True, help_text="Unique in the workspace, any case.")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    locale = serializers.CharField(max_length=10, required=False)
    role = serializers.CharField(max_length=80, required=False, allow_blank=True)
    opted_out = serializers.BooleanField(required=False)
    attributes = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=200), required=False,
                                       help_text=ATTRIBUTES_HELP + " Replaces them all; an empty text removes one.")


class SegmentInputBase(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=240, required=False, allow_blank=True)


CLIENT_EXAMPLE = {"name": "Northwind Traders", "segment": "6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11", "industry": "Retail",
                  "tier": "key", "owner": "0b8e7f4d-2f55-4a3e-8c9d-1e2f3a4b5c6d", "annual_value": "125000.00",
                  "active_from": "2023-04-01", "status": "active"}


# --- clients ------------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List clients",
                                      description="Each client with its number of contacts and the time of its last interaction."),
                    post=extend_schema(summary="Create a client"))
class ClientListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = ClientOutput
    queryset_model = Client
    filterset_class = ClientFilter

    class Input(ClientInputBase):
        pass

    def get_tenant_queryset(self):
        return selectors.client_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: ClientOutput},
                   examples=[OpenApiExample("A key account", value=CLIENT_EXAMPLE, request_only=True),
                             OpenApiExample("A churned client", request_only=True,
                                            value={"name": "Old Co", "active_from": "2021-01-01", "status": "churned",
                                                   "churned_on": "2024-06-30"})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        client = services.client_create(tenant=request.tenant, acting_user=request.user, data=data.validated_data)
        return Response(ClientOutput(selectors.client_get_detail(uuid=client.uuid)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Read a client"),
    patch=extend_schema(summary="Change a client"),
    delete=extend_schema(summary="Delete a client",
                         description="Deletes the client and its contacts. A client with logged interactions cannot be deleted "
                                     "(400 `client_has_interactions`): set its status to `churned` instead."),
)
class ClientDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = ClientOutput
    queryset_model = Client

    class Input(ClientInputBase):
        name = serializers.CharField(max_length=160, required=False)
        active_from = serializers.DateField(required=False, validators=[validate_client_day], help_text=DAY_RANGE)

    def get_tenant_queryset(self):
        return selectors.client_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=ClientOutput,
                   examples=[OpenApiExample("Mark as churned", value={"status": "churned", "churned_on": "2025-03-31"}, request_only=True),
                             OpenApiExample("Change owner and tier", request_only=True,
                                            value={"owner": "0b8e7f4d-2f55-4a3e-8c9d-1e2f3a4b5c6d", "tier": "strategic"})])
    def patch(self, request, *args, **kwargs):
        client = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.client_update(tenant=request.tenant, acting_user=request.user, client=client, data=data.validated_data)
        return Response(ClientOutput(selectors.client_get_detail(uuid=client.uuid)).data)

    @extend_schema(responses={204: None, 400: OpenApiResponse(
        description="`client_has_interactions`: the client has logged interactions; set its status to `churned` instead.")})
    def delete(self, request, *args, **kwargs):
        client = self.get_object()
        try:
            services.client_delete(tenant=request.tenant, acting_user=request.user, client=client)
        except DjangoValidationError as exc:
            if exc.code == services.CLIENT_HAS_INTERACTIONS:
                raise ClientHasInteractions({"non_field_errors": exc.messages}) from exc
            raise
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- contacts -----------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List contacts"), post=extend_schema(summary="Add a contact to a client"))
class ContactListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = ContactOutput
    queryset_model = Contact
    filterset_class = ContactFilter

    class Input(ContactInputBase):
        client = serializers.SlugRelatedField(slug_field="uuid", queryset=Client.objects, help_text="Client id.")

    def get_tenant_queryset(self):
        return selectors.contact_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: ContactOutput},
                   examples=[OpenApiExample("A contact", request_only=True,
                                            value={"client": "3d9a1c7e-5b2f-4f0a-8e6d-7c1b2a3f4e5d", "name": "Ana Lima",
                                                   "email": "ana.lima@northwind.example", "phone": "+32 2 555 01 23",
                                                   "locale": "fr", "role": "CFO", "opted_out": False})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        client = fields.pop("client")
        contact = services.contact_create(tenant=request.tenant, acting_user=request.user, client=client, data=fields)
        return Response(ContactOutput(contact).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a contact"), patch=extend_schema(summary="Change a contact"),
                    delete=extend_schema(summary="Delete a contact",
                                         description="Interactions that named this contact keep their client; the contact link is cleared."))
class ContactDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = ContactOutput
    queryset_model = Contact

    class Input(ContactInputBase):
        name = serializers.CharField(max_length=160, required=False)

    def get_tenant_queryset(self):
        return selectors.contact_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=ContactOutput,
                   examples=[OpenApiExample("Opt out", value={"opted_out": True}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        contact = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        contact = services.contact_update(tenant=request.tenant, acting_user=request.user, contact=contact, data=data.validated_data)
        return Response(ContactOutput(contact).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.contact_delete(tenant=request.tenant, acting_user=request.user, contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- segments -----------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List segments"), post=extend_schema(summary="Create a segment"))
class SegmentListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = SegmentOutput
    queryset_model = Segment

    class Input(SegmentInputBase):
        pass

    def get_tenant_queryset(self):
        return selectors.segment_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: SegmentOutput},
                   examples=[OpenApiExample("A segment", value={"name": "Enterprise", "description": "More than 1,000 employees"},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_create(tenant=request.tenant, acting_user=request.user, data=data.validated_data)
        return Response(SegmentOutput(selectors.segment_list().get(pk=segment.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a segment"), patch=extend_schema(summary="Rename or describe a segment"),
                    delete=extend_schema(summary="Delete a segment",
                                         description="Its clients and journeys stay, with no segment."))
class SegmentDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = SegmentOutput
    queryset_model = Segment

    class Input(SegmentInputBase):
        name = serializers.CharField(max_length=80, required=False)

    def get_tenant_queryset(self):
        return selectors.segment_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=SegmentOutput,
                   examples=[OpenApiExample("Rename", value={"name": "Mid-market"}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        segment = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = services.segment_update(tenant=request.tenant, acting_user=request.user, segment=segment, data=data.validated_data)
        return Response(SegmentOutput(selectors.segment_list().get(pk=segment.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.segment_delete(tenant=request.tenant, acting_user=request.user, segment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- custom attributes ----------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List the custom attributes of clients and contacts"),
                    post=extend_schema(summary="Define a custom attribute"))
class AttributeListApi(mixins.ListModelMixin, TenantGenericApi):
    """Custom attributes: recorded on clients or contacts (their `attributes`), carried by every survey invitation as
    hidden fields, stored on responses (filter: responses/?attribute=client.region:EMEA) and named in survey texts."""

    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = AttributeOutput
    queryset_model = AttributeDefinition

    class Input(serializers.Serializer):
        applies_to = serializers.ChoiceField(choices=AttributeDefinition.AppliesTo.choices)
        key = serializers.CharField(max_length=40)
        label = serializers.CharField(max_length=80)

    def get_tenant_queryset(self):
        return AttributeDefinition.objects.order_by("applies_to", "label")

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: AttributeOutput},
                   examples=[OpenApiExample("A client's region", value={"applies_to": "client", "key": "region", "label": "Region"},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        definition = services.attribute_definition_create(tenant=request.tenant, acting_user=request.user, data=data.validated_data)
        return Response(AttributeOutput(definition).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a custom attribute"),
                    delete=extend_schema(summary="Delete a custom attribute and its values",
                                         description="Responses keep the hidden fields their invitations carried."))
class AttributeDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = AttributeOutput
    queryset_model = AttributeDefinition

    def get_tenant_queryset(self):
        return AttributeDefinition.objects.all()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    def delete(self, request, *args, **kwargs):
        services.attribute_definition_delete(tenant=request.tenant, acting_user=request.user, definition=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
