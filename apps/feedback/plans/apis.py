"""Action plans API (issue 8 item 5), mounted at /api/v1/t/<tenant_slug>/action-plans/. Everyone reads;
CX leads and admins write. Each plan carries its frozen baseline and its live progress (apps.feedback.
selectors.plans: the list reads every plan's progress in a fixed number of queries)."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from apps.clients.models import Segment
from apps.feedback.models import ActionPlan, ActionPlanCase, Case
from apps.feedback.plans import selectors, services
from apps.journeys.models import Journey, Stage
from apps.surveys.models import Survey
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, LEADS, Membership
from apps.touchpoints.models import Touchpoint


def _service_errors(exc: DjangoValidationError) -> ApiValidationError:
    return ApiValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


# --- output -------------------------------------------------------------------------------------

class PlanChangeOutput(serializers.Serializer):
    delta = serializers.FloatField(allow_null=True, help_text="Current − baseline, in the metric's unit.")
    z = serializers.FloatField(allow_null=True, help_text="Two-period z statistic (None when either side has n < 2).")
    significant_change = serializers.BooleanField(allow_null=True, help_text="|z| ≥ 1.96.")


class PlanBaselineOutput(serializers.Serializer):
    first = serializers.DateField(source="baseline_first")
    last = serializers.DateField(source="baseline_last")
    value = serializers.FloatField(source="baseline_value", allow_null=True, help_text="None: no answers in the window.")
    ci_low = serializers.FloatField(source="baseline_low", allow_null=True)
    ci_high = serializers.FloatField(source="baseline_high", allow_null=True)
    n = serializers.IntegerField(source="baseline_n")


class PlanProgressOutput(serializers.Serializer):
    first = serializers.DateField(help_text="First day counted (the plan's start).")
    last = serializers.DateField(help_text="Last day counted (today, or the due date once passed).")
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(source="low", allow_null=True)
    ci_high = serializers.FloatField(source="high", allow_null=True)
    n = serializers.IntegerField()
    low_sample = serializers.BooleanField()
    frozen = serializers.BooleanField(help_text="True for a met/missed plan: the values frozen at its due date.")
    reached = serializers.BooleanField(help_text="The point estimate is at or beyond the target.")
    reached_significantly = serializers.BooleanField(help_text="The interval's lower bound is at or beyond the target.")
    verdict = serializers.ChoiceField(choices=list(selectors.VERDICTS), help_text="significant / not_significant / not_reached / no_data.")
    change = PlanChangeOutput(help_text="Against the baseline (stats.change z-test).")
    days_left = serializers.IntegerField()


class PlanOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    stage = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    journey = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    segment = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    survey = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text="A member id, or null.")
    baseline = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    cases = serializers.SerializerMethodField(help_text="Ids of the linked cases.")

    class Meta:
        model = ActionPlan
        fields = ["id", "title", "description", "metric", "touchpoint", "stage", "journey", "segment", "survey", "baseline",
                  "target_value", "starts_on", "due_on", "owner", "status", "closed_at", "progress", "cases", "created_at", "updated_at"]

    @extend_schema_field(PlanBaselineOutput)
    def get_baseline(self, plan):
        return PlanBaselineOutput(plan).data

    @extend_schema_field(PlanProgressOutput)
    def get_progress(self, plan):
        progress = self.context.get("progress", {}).get(plan.pk)
        return PlanProgressOutput(progress).data if progress is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_cases(self, plan):
        return [str(u) for u in self.context.get("cases", {}).get(plan.pk, [])]


def _context(tenant, plans) -> dict:
    """Progress (batched: a fixed number of queries) and linked case ids (one query) of these plans."""
    plans = list(plans)
    progress = {p.plan.pk: p for p in selectors.action_plan_list(tenant, plans=plans)}
    cases: dict[int, list] = {}
    for plan_id, case_uuid in ActionPlanCase.objects.filter(plan__in=[p.pk for p in plans]).values_list("plan_id", "case__uuid"):
        cases.setdefault(plan_id, []).append(case_uuid)
    return {"progress": progress, "cases": cases}


def _one(request, plan) -> dict:
    plan = selectors.action_plan_queryset().get(pk=plan.pk)
    return PlanOutput(plan, context=_context(request.tenant, [plan])).data


# --- input --------------------------------------------------------------------------------------

def _scope_field(model, name):
    return serializers.SlugRelatedField(slug_field="uuid", queryset=model.objects, allow_null=True, required=False,
                                        help_text=f"Restrict the plan to this {name} (an id), or null.")


class PlanEditInput(serializers.Serializer):
    title = serializers.CharField(max_length=160)
    description = serializers.CharField(required=False, allow_blank=True)
    target_value = serializers.FloatField(help_text="NPS −100…100, CSAT % 0…100, CES 1…7; above the baseline (higher is better).")
    due_on = serializers.DateField(help_text="After the start (today).")
    owner = serializers.SlugRelatedField(slug_field="uuid", queryset=Membership.objects, allow_null=True, required=False,
                                         help_text="A member id, or null.")


PLAN_EXAMPLE = {"title": "Faster first answer on the help line", "metric": "csat", "touchpoint": "6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11",
                "baseline_days": 90, "target_value": 80, "due_on": "2026-12-31", "owner": "0b8e7f4d-2f55-4a3e-8c9d-1e2f3a4b5c6d"}


class PlanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActionPlan.Status.choices)
    metric = django_filters.ChoiceFilter(choices=ActionPlan.Metric.choices)
    owner = django_filters.UUIDFilter(field_name="owner__uuid", help_text="A member id.")
    journey = django_filters.UUIDFilter(field_name="journey__uuid", help_text="A journey id.")

    class Meta:
        model = ActionPlan
        fields = ["status", "metric", "owner", "journey"]


# --- views --------------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List action plans",
                                      description="Active plans first, then by due date; each with its baseline and live progress."),
                    post=extend_schema(summary="Create an action plan",
                                       description="Measures the baseline now (the `baseline_days` days before today, default 90) "
                                                   "and starts the plan today. The target must be above the baseline."))
class PlanListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = PlanOutput
    queryset_model = ActionPlan
    filterset_class = PlanFilter

    class Input(PlanEditInput):
        metric = serializers.ChoiceField(choices=ActionPlan.Metric.choices)
        touchpoint = _scope_field(Touchpoint, "touchpoint")
        stage = _scope_field(Stage, "journey stage")
        journey = _scope_field(Journey, "journey")
        segment = _scope_field(Segment, "segment")
        survey = _scope_field(Survey, "survey")
        baseline_days = serializers.ChoiceField(choices=list(selectors.BASELINE_WINDOWS), required=False,
                                                help_text="The baseline window before today, in days (default 90).")

    def get_tenant_queryset(self):
        return selectors.action_plan_queryset().order_by("due_on", "id")

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PlanOutput(page, many=True, context=_context(request.tenant, page)).data)

    @extend_schema(request=Input, responses={201: PlanOutput},
                   examples=[OpenApiExample("CSAT at a touchpoint", value=PLAN_EXAMPLE, request_only=True),
                             OpenApiExample("NPS of a journey", request_only=True,
                                            value={"title": "Onboarding NPS", "metric": "nps", "journey": "3d9a1c7e-5b2f-4f0a-8e6d-7c1b2a3f4e5d",
                                                   "target_value": 30, "due_on": "2026-09-30"})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["baseline_days"] = int(values.get("baseline_days") or selectors.DEFAULT_BASELINE_DAYS)
        try:
            plan = services.action_plan_create(tenant=request.tenant, acting_member=request.tenant_access.membership, **values)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(_one(request, plan), status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read an action plan"),
                    patch=extend_schema(summary="Change an action plan",
                                        description="Title, description, target, due date and owner of an active plan; the metric, "
                                                    "scope and baseline never change."))
class PlanDetailApi(TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = PlanOutput
    queryset_model = ActionPlan

    class Input(PlanEditInput):
        title = serializers.CharField(max_length=160, required=False)
        target_value = serializers.FloatField(required=False)
        due_on = serializers.DateField(required=False)

    def get_tenant_queryset(self):
        return selectors.action_plan_queryset()

    def get(self, request, *args, **kwargs):
        return Response(_one(request, self.get_object()))

    @extend_schema(request=Input, responses=PlanOutput,
                   examples=[OpenApiExample("Raise the target", value={"target_value": 85}, request_only=True),
                             OpenApiExample("Move the due date", value={"due_on": "2027-03-31", "owner": None}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        plan = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            services.action_plan_update(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan,
                                        **data.validated_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(_one(request, plan))


@extend_schema_view(post=extend_schema(summary="Link a case to an action plan",
                                       description="Links a case of this workspace (linking twice is harmless); `unlink: true` removes it."))
class PlanCaseLinkApi(TenantGenericApi):
    read_roles = LEADS
    write_roles = LEADS
    serializer_class = PlanOutput
    queryset_model = ActionPlan

    class Input(serializers.Serializer):
        case = serializers.SlugRelatedField(slug_field="uuid", queryset=Case.objects, help_text="A case id.")
        unlink = serializers.BooleanField(required=False, default=False, help_text="True: remove the link instead.")

    def get_tenant_queryset(self):
        return selectors.action_plan_queryset()

    @extend_schema(request=Input, responses={200: PlanOutput, 400: OpenApiResponse(description="Unknown case or a cancelled plan.")},
                   examples=[OpenApiExample("Link a case", value={"case": "9c2f7e1a-0b3d-4c5e-8f6a-1b2c3d4e5f60"}, request_only=True),
                             OpenApiExample("Unlink it", value={"case": "9c2f7e1a-0b3d-4c5e-8f6a-1b2c3d4e5f60", "unlink": True},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        plan = self.get_object()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        args = dict(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan, case=data.validated_data["case"])
        try:
            if data.validated_data["unlink"]:
                services.action_plan_unlink_case(**args)
            else:
                services.action_plan_link_case(**args)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(_one(request, plan))


@extend_schema_view(post=extend_schema(summary="Cancel an action plan"))
class PlanCancelApi(TenantGenericApi):
    read_roles = LEADS
    write_roles = LEADS
    serializer_class = PlanOutput
    queryset_model = ActionPlan

    class Input(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def get_tenant_queryset(self):
        return selectors.action_plan_queryset()

    @extend_schema(request=Input, responses={200: PlanOutput, 400: OpenApiResponse(description="The plan is not active.")},
                   examples=[OpenApiExample("Cancel", value={"reason": "Superseded by the onboarding plan"}, request_only=True)])
    def post(self, request, *args, **kwargs):
        plan = self.get_object()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.action_plan_cancel(tenant=request.tenant, acting_member=request.tenant_access.membership, plan=plan,
                                        reason=data.validated_data.get("reason", ""))
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(_one(request, plan))
