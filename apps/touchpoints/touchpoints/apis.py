"""Touchpoint API: list (filters), create, read, change, delete (409 `touchpoint_in_use` when
interactions were logged there: archive it with `is_active: false` instead)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, LEADS, Team
from apps.touchpoints.models import Channel, Touchpoint
from apps.touchpoints.touchpoints import services
from apps.touchpoints.touchpoints.filters import TouchpointFilter
from apps.touchpoints.touchpoints.selectors import touchpoint_list


class TouchpointInUseConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    error_code = "touchpoint_in_use"
    default_detail = "Interactions were logged at this touchpoint, so it cannot be deleted. Archive it instead (is_active: false)."


class PlacedOnOutput(serializers.Serializer):
    journey = serializers.UUIDField(source="stage.journey.uuid", read_only=True)
    journey_name = serializers.CharField(source="stage.journey.name", read_only=True)
    stage = serializers.UUIDField(source="stage.uuid", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    moment_of_truth = serializers.BooleanField(read_only=True)


class TouchpointOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    team = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)
    interactions_last_90_days = serializers.IntegerField(source="interactions_recent", read_only=True)
    placed_on = PlacedOnOutput(source="journey_placements", many=True, read_only=True)

    class Meta:
        model = Touchpoint
        fields = ["id", "name", "channel", "team", "team_name", "description", "is_key", "is_active",
                  "interactions_last_90_days", "placed_on", "created_at", "updated_at"]


TEAM_FIELD = dict(slug_field="uuid", queryset=Team.objects, allow_null=True, required=False)
EXAMPLE_TOUCHPOINT = {"name": "Renewal call", "channel": "phone", "team": "3f1c2b9e-8d4a-4c55-9a51-0c1d2e3f4a5b",
                      "description": "Account manager calls 60 days before renewal.", "is_key": True}


@extend_schema_view(get=extend_schema(summary="List touchpoints"), post=extend_schema(summary="Create a touchpoint"))
class TouchpointListApi(mixins.ListModelMixin, TenantGenericApi):
    """Touchpoints with their team, journey placements and interactions logged in the last 90 days."""

    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = TouchpointOutput
    queryset_model = Touchpoint
    filterset_class = TouchpointFilter

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        channel = serializers.ChoiceField(choices=Channel.choices)
        team = serializers.SlugRelatedField(**TEAM_FIELD)
        description = serializers.CharField(required=False, allow_blank=True)
        is_key = serializers.BooleanField(required=False, default=False)
        is_active = serializers.BooleanField(required=False, default=True)

    def get_tenant_queryset(self):
        return touchpoint_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: TouchpointOutput},
                   examples=[OpenApiExample("A key phone touchpoint", value=EXAMPLE_TOUCHPOINT, request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        touchpoint = services.touchpoint_create(tenant=request.tenant, acting_user=request.user, **data.validated_data)
        return Response(TouchpointOutput(touchpoint_list().get(pk=touchpoint.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a touchpoint"), patch=extend_schema(summary="Change or archive a touchpoint"),
                    delete=extend_schema(summary="Delete a touchpoint that has no interactions"))
class TouchpointDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = TouchpointOutput
    queryset_model = Touchpoint

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        team = serializers.SlugRelatedField(**TEAM_FIELD)
        description = serializers.CharField(required=False, allow_blank=True)
        is_key = serializers.BooleanField(required=False)
        is_active = serializers.BooleanField(required=False)

    def get_tenant_queryset(self):
        return touchpoint_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=TouchpointOutput,
                   examples=[OpenApiExample("Archive", value={"is_active": False}, request_only=True),
                             OpenApiExample("Hand over to another team", value={"team": "3f1c2b9e-8d4a-4c55-9a51-0c1d2e3f4a5b"},
                                            request_only=True)])
    def patch(self, request, *args, **kwargs):
        touchpoint = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.touchpoint_update(tenant=request.tenant, acting_user=request.user, touchpoint=touchpoint, **data.validated_data)
        return Response(TouchpointOutput(touchpoint_list().get(pk=touchpoint.pk)).data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(
        description="`touchpoint_in_use`: interactions were logged here; archive it (PATCH is_active false) instead.")})
    def delete(self, request, *args, **kwargs):
        touchpoint = self.get_object()
        try:
            services.touchpoint_delete(tenant=request.tenant, acting_user=request.user, touchpoint=touchpoint)
        except services.TouchpointInUse:
            raise TouchpointInUseConflict() from None
        return Response(status=status.HTTP_204_NO_CONTENT)
