"""Journey API: journeys, their stages (nested) and the touchpoints placed on each stage (nested).

Nested routes resolve their parents inside the tenant first: a journey or stage of another tenant,
or a stage that is not in the journey named by the URL, answers 404 like a missing one. Orders are
1..n per parent; PATCHing `order` moves the row and renumbers its siblings.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.clients.models import Segment
from apps.journeys import selectors, services
from apps.journeys.filters import JourneyFilter
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, LEADS
from apps.touchpoints.models import Touchpoint

# --- output ---------------------------------------------------------------------------------------------

class PlacementOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    stage = serializers.UUIDField(source="stage.uuid", read_only=True)
    touchpoint = serializers.UUIDField(source="touchpoint.uuid", read_only=True)
    touchpoint_name = serializers.CharField(source="touchpoint.name", read_only=True)
    channel = serializers.CharField(source="touchpoint.channel", read_only=True)

    class Meta:
        model = StageTouchpoint
        fields = ["id", "stage", "touchpoint", "touchpoint_name", "channel", "order", "moment_of_truth", "expectation"]


class StageOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    journey = serializers.UUIDField(source="journey.uuid", read_only=True)
    placements = PlacementOutput(many=True, read_only=True)

    class Meta:
        model = Stage
        fields = ["id", "journey", "order", "name", "goal", "expected_emotion", "placements"]


class JourneyOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    segment = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    segment_name = serializers.CharField(source="segment.name", read_only=True, allow_null=True, default=None)
    stage_count = serializers.IntegerField(read_only=True)
    touchpoint_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Journey
        fields = ["id", "name", "description", "segment", "segment_name", "status", "stage_count", "touchpoint_count",
                  "created_at", "updated_at"]


class JourneyDetailOutput(JourneyOutput):
    stages = StageOutput(many=True, read_only=True)

    class Meta(JourneyOutput.Meta):
        fields = [*JourneyOutput.Meta.fields, "stages"]


SEGMENT_FIELD = dict(slug_field="uuid", queryset=Segment.objects, allow_null=True, required=False)
ORDER_HELP = "1-based position among its siblings; the others shift to make room (default: last)."


# --- journeys -------------------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List journeys"), post=extend_schema(summary="Create a journey"))
class JourneyListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = JourneyOutput
    queryset_model = Journey
    filterset_class = JourneyFilter

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True)
        segment = serializers.SlugRelatedField(**SEGMENT_FIELD)
        status = serializers.ChoiceField(choices=Journey.Status.choices, required=False, default=Journey.Status.DRAFT)

    def get_tenant_queryset(self):
        return selectors.journey_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: JourneyDetailOutput},
                   examples=[OpenApiExample("Onboarding journey", request_only=True,
                                            value={"name": "Onboarding", "description": "From signature to first value.",
                                                   "status": "draft"})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        journey = services.journey_create(tenant=request.tenant, acting_user=request.user, **data.validated_data)
        return Response(JourneyDetailOutput(selectors.journey_detail().get(pk=journey.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a journey with its stages and placements"),
                    patch=extend_schema(summary="Change a journey"), delete=extend_schema(summary="Delete a journey"))
class JourneyDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = JourneyDetailOutput
    queryset_model = Journey

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        segment = serializers.SlugRelatedField(**SEGMENT_FIELD)
        status = serializers.ChoiceField(choices=Journey.Status.choices, required=False)

    def get_tenant_queryset(self):
        return selectors.journey_detail()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=JourneyDetailOutput,
                   examples=[OpenApiExample("Activate", value={"status": "active"}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        journey = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.journey_update(tenant=request.tenant, acting_user=request.user, journey=journey, **data.validated_data)
        return Response(JourneyDetailOutput(selectors.journey_detail().get(pk=journey.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.journey_delete(tenant=request.tenant, acting_user=request.user, journey=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stages ---------------------------------------------------------------------------------------------

class JourneyChildApi(TenantGenericApi):
    """A route under journeys/<journey_uuid>/: the journey is resolved in the tenant before anything else."""

    def get_journey(self) -> Journey:
        if not hasattr(self, "_journey"):
            self._journey = get_object_or_404(Journey.objects, uuid=self.kwargs["journey_uuid"])
        return self._journey


@extend_schema_view(get=extend_schema(summary="List a journey's stages"), post=extend_schema(summary="Add a stage to a journey"))
class StageListApi(mixins.ListModelMixin, JourneyChildApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = StageOutput
    queryset_model = Stage

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        goal = serializers.CharField(max_length=240, required=False, allow_blank=True)
        expected_emotion = serializers.ChoiceField(choices=Stage.Emotion.choices, required=False, default=Stage.Emotion.NEUTRAL)
        order = serializers.IntegerField(min_value=1, required=False, help_text=ORDER_HELP)

    def get_tenant_queryset(self):
        return selectors.stage_list().filter(journey__uuid=self.kwargs.get("journey_uuid"))

    def get(self, request, *args, **kwargs):
        self.get_journey()
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: StageOutput},
                   examples=[OpenApiExample("Add a stage", request_only=True,
                                            value={"name": "Onboarding", "goal": "Get value in the first 30 days",
                                                   "expected_emotion": "anxious"})])
    def post(self, request, *args, **kwargs):
        journey = self.get_journey()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        stage = services.stage_create(tenant=request.tenant, acting_user=request.user, journey=journey, **data.validated_data)
        return Response(StageOutput(selectors.stage_list().get(pk=stage.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a stage"), patch=extend_schema(summary="Change or move a stage"),
                    delete=extend_schema(summary="Delete a stage"))
class StageDetailApi(mixins.RetrieveModelMixin, JourneyChildApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = StageOutput
    queryset_model = Stage

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        goal = serializers.CharField(max_length=240, required=False, allow_blank=True)
        expected_emotion = serializers.ChoiceField(choices=Stage.Emotion.choices, required=False)
        order = serializers.IntegerField(min_value=1, required=False, help_text=ORDER_HELP)

    def get_tenant_queryset(self):
        return selectors.stage_list().filter(journey__uuid=self.kwargs.get("journey_uuid"))

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=StageOutput,
                   examples=[OpenApiExample("Move to the front", value={"order": 1}, request_only=True),
                             OpenApiExample("Rename", value={"name": "Renewal", "expected_emotion": "positive"}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        stage = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.stage_update(tenant=request.tenant, acting_user=request.user, stage=stage, **data.validated_data)
        return Response(StageOutput(selectors.stage_list().get(pk=stage.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.stage_delete(tenant=request.tenant, acting_user=request.user, stage=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- placements -----------------------------------------------------------------------------------------

class StageChildApi(JourneyChildApi):
    """A route under journeys/<journey_uuid>/stages/<stage_uuid>/: a stage outside that journey is a 404."""

    def get_stage(self) -> Stage:
        if not hasattr(self, "_stage"):
            self._stage = get_object_or_404(Stage.objects.select_related("journey"), uuid=self.kwargs["stage_uuid"],
                                            journey__uuid=self.kwargs["journey_uuid"])
        return self._stage

    def get_tenant_queryset(self):
        return selectors.placement_list().filter(stage__uuid=self.kwargs.get("stage_uuid"),
                                                 stage__journey__uuid=self.kwargs.get("journey_uuid"))


@extend_schema_view(get=extend_schema(summary="List the touchpoints placed on a stage"),
                    post=extend_schema(summary="Place a touchpoint on a stage"))
class PlacementListApi(mixins.ListModelMixin, StageChildApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = PlacementOutput
    queryset_model = StageTouchpoint

    class Input(serializers.Serializer):
        touchpoint = serializers.SlugRelatedField(slug_field="uuid", queryset=Touchpoint.objects)
        order = serializers.IntegerField(min_value=1, required=False, help_text=ORDER_HELP)
        moment_of_truth = serializers.BooleanField(required=False, default=False)
        expectation = serializers.CharField(max_length=240, required=False, allow_blank=True)

    def get(self, request, *args, **kwargs):
        self.get_stage()
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: PlacementOutput},
                   examples=[OpenApiExample("A moment of truth", request_only=True,
                                            value={"touchpoint": "3f1c2b9e-8d4a-4c55-9a51-0c1d2e3f4a5b", "moment_of_truth": True,
                                                   "expectation": "A named person calls back within a day."})])
    def post(self, request, *args, **kwargs):
        stage = self.get_stage()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        placement = services.placement_create(tenant=request.tenant, acting_user=request.user, stage=stage, **data.validated_data)
        return Response(PlacementOutput(selectors.placement_list().get(pk=placement.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a placement"),
                    patch=extend_schema(summary="Change a placement, move it in its stage or to another stage"),
                    delete=extend_schema(summary="Take a touchpoint off a stage"))
class PlacementDetailApi(mixins.RetrieveModelMixin, StageChildApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = PlacementOutput
    queryset_model = StageTouchpoint

    class Input(serializers.Serializer):
        stage = serializers.SlugRelatedField(slug_field="uuid", queryset=Stage.objects, required=False,
                                             help_text="Move the placement to this stage of the same journey.")
        order = serializers.IntegerField(min_value=1, required=False, help_text=ORDER_HELP)
        moment_of_truth = serializers.BooleanField(required=False)
        expectation = serializers.CharField(max_length=240, required=False, allow_blank=True)

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=PlacementOutput,
                   examples=[OpenApiExample("Move to the top", value={"order": 1}, request_only=True),
                             OpenApiExample("Move to another stage", request_only=True,
                                            value={"stage": "9b2f6c1a-3e4d-4f5a-8b7c-1d2e3f4a5b6c", "order": 2}),
                             OpenApiExample("Mark as a moment of truth", value={"moment_of_truth": True}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        placement = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.placement_update(tenant=request.tenant, acting_user=request.user, placement=placement, **data.validated_data)
        return Response(PlacementOutput(selectors.placement_list().get(pk=placement.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.placement_delete(tenant=request.tenant, acting_user=request.user, placement=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
