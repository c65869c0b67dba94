"""REST API for the cases' configuration: alert rules and root causes. CX leads and admins read;
admins write. Related rows travel as public uuids through the tenant-scoped managers."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.feedback.alerts import services
from apps.feedback.cases.selectors import OPEN_STATUSES
from apps.feedback.models import AlertRule, Case, RootCause
from apps.surveys.models import Survey
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import ADMINS, LEADS, Membership, Team
from apps.touchpoints.models import Touchpoint

# --- root causes --------------------------------------------------------------------------------


class RootCauseOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    resolved_cases = serializers.IntegerField(read_only=True, help_text="Cases resolved with this cause.")

    class Meta:
        model = RootCause
        fields = ["id", "name", "description", "is_active", "resolved_cases", "created_at", "updated_at"]


def root_causes():
    return RootCause.objects.annotate(resolved_cases=Count("cases", filter=Q(cases__status=Case.Status.RESOLVED))).order_by(
        "-is_active", "name", "pk")


class RootCauseInputBase(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=240, required=False, allow_blank=True)


@extend_schema_view(get=extend_schema(summary="List root causes", description="Active ones first; archived ones stay on old cases."))
class RootCauseListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = LEADS
    write_roles = ADMINS
    serializer_class = RootCauseOutput
    queryset_model = RootCause

    class Input(RootCauseInputBase):
        pass

    def get_tenant_queryset(self):
        return root_causes()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(summary="Add a root cause", request=Input, responses={201: RootCauseOutput},
                   examples=[OpenApiExample("A cause", value={"name": "Slow response", "description": "We answered after the SLA."},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        cause = services.root_cause_create(tenant=request.tenant, acting_user=request.user, data=data.validated_data)
        return Response(RootCauseOutput(root_causes().get(pk=cause.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a root cause"),
                    delete=extend_schema(summary="Archive a root cause",
                                         description="Root causes are never deleted (resolved cases and reports keep them): "
                                                     "this archives it, so new resolutions cannot choose it. "
                                                     "PATCH `is_active: true` restores it."))
class RootCauseDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = LEADS
    write_roles = ADMINS
    serializer_class = RootCauseOutput
    queryset_model = RootCause

    class Input(RootCauseInputBase):
        name = serializers.CharField(max_length=80, required=False)
        is_active = serializers.BooleanField(required=False, help_text="false archives, true restores.")

    def get_tenant_queryset(self):
        return root_causes()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(summary="Change a root cause", request=Input, responses=RootCauseOutput,
                   examples=[OpenApiExample("Rename", value={"name": "Late answer"}, request_only=True),
                             OpenApiExample("Restore", value={"is_active": True}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        cause = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.root_cause_update(tenant=request.tenant, acting_user=request.user, root_cause=cause, data=data.validated_data)
        return Response(RootCauseOutput(root_causes().get(pk=cause.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.root_cause_archive(tenant=request.tenant, acting_user=request.user, root_cause=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- alert rules --------------------------------------------------------------------------------

class AlertRuleOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    survey = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    assignee_email = serializers.EmailField(source="assignee.user.email", read_only=True, allow_null=True, default=None)
    team = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    recovery_survey = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    open_cases = serializers.IntegerField(read_only=True)

    class Meta:
        model = AlertRule
        fields = ["id", "name", "is_active", "trigger", "threshold", "touchpoint", "survey", "assign_to", "assignee", "assignee_email",
                  "team", "sla_hours", "recovery_survey", "open_cases", "created_at", "updated_at"]


def alert_rules():
    return (AlertRule.objects.select_related("touchpoint", "survey", "assignee__user", "team", "recovery_survey")
            .annotate(open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES))).order_by("name", "pk"))


class AlertRuleInputBase(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    is_active = serializers.BooleanField(required=False)
    trigger = serializers.ChoiceField(choices=AlertRule.Trigger.choices)
    threshold = serializers.DecimalField(max_digits=6, decimal_places=2, required=False,
                                         help_text="On the trigger's scale: NPS 0–10, CSAT 1–5, CES 1–7 (the highest answer that opens "
                                                   "a case), sentiment −1…1 (highest), churn risk 0–100 (lowest); none for follow-ups.")
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", queryset=Touchpoint.objects, allow_null=True, required=False)
    survey = serializers.SlugRelatedField(slug_field="uuid", queryset=Survey.objects, allow_null=True, required=False)
    assign_to = serializers.ChoiceField(choices=AlertRule.AssignTo.choices, required=False)
    assignee = serializers.SlugRelatedField(slug_field="uuid", queryset=Membership.objects, allow_null=True, required=False)
    team = serializers.SlugRelatedField(slug_field="uuid", queryset=Team.objects, allow_null=True, required=False)
    sla_hours = serializers.IntegerField(min_value=1, max_value=24 * 90, required=False)
    recovery_survey = serializers.SlugRelatedField(slug_field="uuid", queryset=Survey.objects, allow_null=True, required=False)


RULE_EXAMPLE = {"name": "Detractors", "trigger": "nps_at_most", "threshold": "6", "assign_to": "member",
                "assignee": "0b8e7f4d-2f55-4a3e-8c9d-1e2f3a4b5c6d", "sla_hours": 48,
                "recovery_survey": "6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11"}


@extend_schema_view(get=extend_schema(summary="List alert rules"))
class AlertRuleListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = LEADS
    write_roles = ADMINS
    serializer_class = AlertRuleOutput
    queryset_model = AlertRule

    class Input(AlertRuleInputBase):
        pass

    def get_tenant_queryset(self):
        return alert_rules()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(summary="Create an alert rule", request=Input, responses={201: AlertRuleOutput},
                   examples=[OpenApiExample("Every detractor to a member", value=RULE_EXAMPLE, request_only=True),
                             OpenApiExample("Churn risk to the client's owner", request_only=True,
                                            value={"name": "Rising risk", "trigger": "churn_risk_above", "threshold": "70",
                                                   "assign_to": "client_owner", "assignee": "0b8e7f4d-2f55-4a3e-8c9d-1e2f3a4b5c6d",
                                                   "sla_hours": 72})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.alert_rule_create(tenant=request.tenant, acting_user=request.user, data=data.validated_data)
        return Response(AlertRuleOutput(alert_rules().get(pk=rule.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read an alert rule"),
                    delete=extend_schema(summary="Delete an alert rule", description="Its cases stay, with no rule."))
class AlertRuleDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = LEADS
    write_roles = ADMINS
    serializer_class = AlertRuleOutput
    queryset_model = AlertRule

    class Input(AlertRuleInputBase):
        name = serializers.CharField(max_length=120, required=False)
        trigger = serializers.ChoiceField(choices=AlertRule.Trigger.choices, required=False)

    def get_tenant_queryset(self):
        return alert_rules()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(summary="Change an alert rule", request=Input, responses=AlertRuleOutput,
                   examples=[OpenApiExample("Pause", value={"is_active": False}, request_only=True),
                             OpenApiExample("Tighter SLA", value={"sla_hours": 24}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        rule = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.alert_rule_update(tenant=request.tenant, acting_user=request.user, rule=rule, data=data.validated_data)
        return Response(AlertRuleOutput(alert_rules().get(pk=rule.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.alert_rule_delete(tenant=request.tenant, acting_user=request.user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
