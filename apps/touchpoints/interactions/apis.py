"""REST API for interactions, mounted at /api/v1/t/<tenant_slug>/interactions/.

Everyone in the workspace reads; staff and up log. A person logs as themselves; an API key has no
membership, so it names the staff member (`staff`). The staff member who logged an interaction,
CX leads and admins change it and close its follow-up.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from apps.clients.models import Client, Contact
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.idempotency import HEADER as IDEMPOTENCY_HEADER
from apps.tenancy.models import EVERYONE, STAFF_AND_UP, Membership
from apps.touchpoints.interactions import services
from apps.touchpoints.interactions.filters import InteractionFilter
from apps.touchpoints.interactions.selectors import interaction_list
from apps.touchpoints.models import Channel, Interaction, Touchpoint

SCORE_HELP = "What would this client answer today if asked how likely they are to recommend us (0–10)?"


class InteractionOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    client = serializers.UUIDField(source="client.uuid", read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    contact = serializers.UUIDField(source="contact.uuid", read_only=True, allow_null=True, default=None)
    contact_name = serializers.CharField(source="contact.name", read_only=True, allow_null=True, default=None)
    touchpoint = serializers.UUIDField(source="touchpoint.uuid", read_only=True)
    touchpoint_name = serializers.CharField(source="touchpoint.name", read_only=True)
    staff = serializers.UUIDField(source="staff.uuid", read_only=True, help_text="The membership id of who logged it.")
    staff_name = serializers.CharField(source="staff.user.get_full_name", read_only=True)
    text_sentiment = serializers.FloatField(read_only=True, allow_null=True,
                                            help_text="VADER compound score of the summary in [-1, 1]; null until scored.")

    class Meta:
        model = Interaction
        fields = ["id", "client", "client_name", "contact", "contact_name", "touchpoint", "touchpoint_name", "staff", "staff_name",
                  "occurred_at", "channel", "summary", "outcome", "staff_sentiment", "predicted_score", "text_sentiment",
                  "follow_up", "follow_up_due", "follow_up_done_at", "created_at"]


def _sentiment_field(**kwargs):
    return serializers.ChoiceField(choices=Interaction.Sentiment.choices, allow_null=True,
                                   help_text="Staff-rated: -2 very negative … 2 very positive.", **kwargs)


def _score_field(**kwargs):
    return serializers.IntegerField(min_value=0, max_value=10, allow_null=True, help_text=SCORE_HELP, **kwargs)


@extend_schema_view(get=extend_schema(summary="List interactions"), post=extend_schema(summary="Log an interaction"))
class InteractionListApi(mixins.ListModelMixin, TenantGenericApi):
    """List interactions, newest first (filters: client, contact, touchpoint, staff, outcome, from/to,
    follow_up_open, has_prediction). Staff and up log one; send an `Idempotency-Key` to retry safely."""

    read_roles = EVERYONE
    write_roles = STAFF_AND_UP
    serializer_class = InteractionOutput
    queryset_model = Interaction
    filterset_class = InteractionFilter

    class Input(serializers.Serializer):
        client = serializers.SlugRelatedField(slug_field="uuid", queryset=Client.objects)
        contact = serializers.SlugRelatedField(slug_field="uuid", queryset=Contact.objects, required=False, allow_null=True)
        touchpoint = serializers.SlugRelatedField(slug_field="uuid", queryset=Touchpoint.objects)
        staff = serializers.SlugRelatedField(
            slug_field="uuid", queryset=Membership.objects, required=False,
            help_text="Required with an API key: the membership id of the active staff member (or lead, admin) who had the "
                      "interaction. A person signed in logs as themselves.",
        )
        occurred_at = serializers.DateTimeField(required=False, help_text="Defaults to now.")
        channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text="Defaults to the touchpoint's channel.")
        summary = serializers.CharField(max_length=280)
        outcome = serializers.ChoiceField(choices=Interaction.Outcome.choices)
        staff_sentiment = _sentiment_field(required=False)
        predicted_score = _score_field(required=False)
        follow_up = serializers.BooleanField(required=False, default=False)
        follow_up_due = serializers.DateField(required=False, allow_null=True)

    def get_tenant_queryset(self):
        return interaction_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(
        request=Input, responses={201: InteractionOutput, 200: InteractionOutput},
        examples=[
            OpenApiExample("A resolved phone call", request_only=True, value={
                "client": "6f1c2b9e-6a54-4c8e-9d4a-2f0f3f6b1a10", "touchpoint": "0b7e3a52-1a0c-4f3e-8d55-1c2d3e4f5a6b",
                "outcome": "resolved", "summary": "Fixed the invoice address; client happy", "predicted_score": 9}),
            OpenApiExample("With an API key, a follow-up", request_only=True, value={
                "client": "6f1c2b9e-6a54-4c8e-9d4a-2f0f3f6b1a10", "touchpoint": "0b7e3a52-1a0c-4f3e-8d55-1c2d3e4f5a6b",
                "staff": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "contact": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
                "occurred_at": "2025-03-04T09:30:00+01:00", "outcome": "escalated", "summary": "Renewal at risk: price increase",
                "staff_sentiment": -1, "predicted_score": 4, "follow_up": True, "follow_up_due": "2025-03-07"}),
        ],
        description="Answers 201 with the new interaction, or 200 with the first one when the same `Idempotency-Key` "
                    "was already used by this staff member.",
    )
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        staff = self._staff(request, fields.pop("staff", None))
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        interaction, created = services.interaction_log(
            tenant=request.tenant, staff=staff, idempotency_key=key if len(key) <= 64 else "", **fields,
        )
        interaction = interaction_list().get(pk=interaction.pk)
        return Response(InteractionOutput(interaction).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @staticmethod
    def _staff(request, named: Membership | None) -> Membership:
        own = request.tenant_access.membership
        if own is None:  # an API key
            if named is None:
                raise ApiValidationError({"staff": ["An API key must name the staff member who had the interaction."]})
            return named
        if named is not None and named.pk != own.pk:
            raise ApiValidationError({"staff": ["You log interactions as yourself: leave staff out or give your own id."]})
        return own


@extend_schema_view(get=extend_schema(summary="Read an interaction"), patch=extend_schema(summary="Correct an interaction"))
class InteractionDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    """Read an interaction; the staff member who logged it, CX leads and admins correct it (PATCH)."""

    read_roles = EVERYONE
    write_roles = STAFF_AND_UP
    serializer_class = InteractionOutput
    queryset_model = Interaction

    class Input(serializers.Serializer):
        summary = serializers.CharField(max_length=280, required=False)
        outcome = serializers.ChoiceField(choices=Interaction.Outcome.choices, required=False)
        staff_sentiment = _sentiment_field(required=False)
        predicted_score = _score_field(required=False)
        follow_up = serializers.BooleanField(required=False, help_text="true (re)opens the follow-up; false removes it and its due date.")
        follow_up_due = serializers.DateField(required=False, allow_null=True)

    def get_tenant_queryset(self):
        return interaction_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=InteractionOutput, examples=[
        OpenApiExample("Escalated after all", request_only=True, value={"outcome": "escalated", "staff_sentiment": -2}),
        OpenApiExample("Add a follow-up", request_only=True, value={"follow_up": True, "follow_up_due": "2025-03-10"}),
    ])
    def patch(self, request, *args, **kwargs):
        interaction = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.interaction_update(tenant=request.tenant, acting_member=request.tenant_access.membership, role=request.tenant_access.role,
                                    interaction=interaction, **data.validated_data)
        return Response(InteractionOutput(interaction_list().get(pk=interaction.pk)).data)


@extend_schema_view(post=extend_schema(summary="Mark an interaction's follow-up done"))
class InteractionFollowUpDoneApi(TenantGenericApi):
    """Close the follow-up (idempotent: closing it again changes nothing)."""

    read_roles = STAFF_AND_UP
    serializer_class = InteractionOutput
    queryset_model = Interaction

    def get_tenant_queryset(self):
        return interaction_list()

    @extend_schema(request=None, responses=InteractionOutput)
    def post(self, request, *args, **kwargs):
        interaction = self.get_object()
        services.interaction_follow_up_done(tenant=request.tenant, acting_member=request.tenant_access.membership,
                                            role=request.tenant_access.role, interaction=interaction)
        return Response(InteractionOutput(interaction_list().get(pk=interaction.pk)).data)
