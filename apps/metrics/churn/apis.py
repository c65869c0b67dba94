"""Churn API (DESIGN.md "API contract", issue 6), mounted at /api/v1/t/<tenant_slug>/metrics/:
churn and retention (`churn/`) and the clients ranked by churn risk (`churn-risk/`), read through
apps.metrics.churn.selectors. Read-only, open to every role; staff read only the clients they own."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response as ApiResponse

from apps.clients.models import Segment
from apps.core.pagination import PageNumberPagination
from apps.metrics import params
from apps.metrics.api_blocks import _RANGE_ERRORS, RANGE_PARAMETERS, MetricsApi, _bad_request, _ci, _doc, _own_member, _value
from apps.metrics.churn import selectors
from apps.metrics.models import ClientHealth
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, Membership, Role


class RateOutput(serializers.Serializer):
    value = _value("Rate in %, null when n = 0.")
    k = serializers.IntegerField()
    n = serializers.IntegerField()
    ci_low = _ci("Low (Wilson)")
    ci_high = _ci("High (Wilson)")


class RevenueChurnOutput(serializers.Serializer):
    value = _value("100 × annual value of the lost clients / annual value of the clients at the start.")
    lost_value = serializers.FloatField()
    start_value = serializers.FloatField()
    clients_without_value = serializers.IntegerField(help_text="Clients at the start without a known annual value (left out).")


class ChurnPeriodOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")
    partial = serializers.BooleanField()
    at_start = serializers.IntegerField(help_text="S: clients active at the start.")
    lost = serializers.IntegerField(help_text="L: clients of S that churned in the period.")
    new = serializers.IntegerField(help_text="N: clients that became active in the period.")
    at_end = serializers.IntegerField(help_text="E: clients active at the end.")
    churn = RateOutput(help_text="Churn rate L / S.")
    retention = RateOutput(help_text="Retention rate (E − N) / S.")
    revenue_churn = RevenueChurnOutput()


class CohortMilestoneOutput(RateOutput):
    months = serializers.IntegerField()


class CohortOutput(serializers.Serializer):
    cohort = serializers.CharField(help_text="The quarter of `active_from`, e.g. 2026-Q1.")
    start = serializers.DateField()
    size = serializers.IntegerField()
    active_after = CohortMilestoneOutput(many=True, help_text="% still active after 3, 6 and 12 months.")


class TenurePointOutput(serializers.Serializer):
    days = serializers.IntegerField()
    at_risk = serializers.IntegerField()
    events = serializers.IntegerField()
    survival = _value("Kaplan–Meier survival in %.")
    ci_low = _ci("Low (Greenwood)")
    ci_high = _ci("High (Greenwood)")


class TenureOutput(serializers.Serializer):
    n = serializers.IntegerField()
    events = serializers.IntegerField()
    median_days = serializers.IntegerField(allow_null=True)
    curve = TenurePointOutput(many=True)


class ChurnOutput(serializers.Serializer):
    locals()["from"] = serializers.DateField(source="first")
    locals()["to"] = serializers.DateField(source="last")
    interval = serializers.CharField(help_text="day, week, month, quarter or year.")
    segment = serializers.UUIDField(allow_null=True, help_text="The segment filter given, or null.")
    today = serializers.DateField(help_text="Censoring day of the cohorts and the tenure curve.")
    periods = ChurnPeriodOutput(many=True)
    total = ChurnPeriodOutput(help_text="The whole range as one period.")
    cohorts = CohortOutput(many=True)
    tenure = TenureOutput()


class ReasonOutput(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField(help_text="The reason in words.")
    weight = serializers.FloatField(help_text="Its contribution to the score.")


class ClientHealthOutput(serializers.ModelSerializer):
    client = serializers.UUIDField(source="client.uuid", read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    reasons = ReasonOutput(many=True, read_only=True, help_text="The top 3 contributing reasons.")

    class Meta:
        model = ClientHealth
        fields = ["client", "client_name", "score", "band", "method", "reasons", "computed_at"]


_CHURN_MODEL_SCHEMA = {
    "type": "object", "nullable": True,
    "description": "The current churn model (null before the first refresh).",
    "properties": {
        "method": {"type": "string", "description": "`model` (logistic regression) or `rules` (too few churned/retained clients)."},
        "auc": {"type": "number", "nullable": True, "description": "ROC AUC on the held-out split (model only)."},
        "n_churned": {"type": "integer"}, "n_retained": {"type": "integer"}, "n_test": {"type": "integer"},
        "fitted_at": {"type": "string", "format": "date-time"},
    },
}


class ChurnRiskPagination(PageNumberPagination):
    """The page, plus the current churn model that scored it."""

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["properties"]["model"] = _CHURN_MODEL_SCHEMA
        return body

# --- views ----------------------------------------------------------------------------------------

class MetricsChurnApi(MetricsApi):
    @_doc("Churn and retention",
          "Per period [start, end) of the range: clients at the start (S), lost (L), new (N), at the end (E), churn rate L/S "
          "and retention rate (E − N)/S with Wilson intervals, revenue churn; quarterly cohorts by `active_from` (% still "
          "active after 3/6/12 months); the Kaplan–Meier tenure curve and median tenure.",
          ChurnOutput, [*RANGE_PARAMETERS,
                        OpenApiParameter("interval", OpenApiTypes.STR, enum=list(params.CHURN_INTERVALS), description="Default: month."),
                        OpenApiParameter("segment", OpenApiTypes.UUID, description="Only the clients now in this segment.")],
          _RANGE_ERRORS, "`invalid_interval`, `unknown_segment`, `unsupported_filter`")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant, allowed=("segment",))
        interval = params.parse_interval(request.query_params, params.CHURN_INTERVALS, "month")
        return ApiResponse(ChurnOutput(selectors.churn(request.tenant, f, interval)).data)


class MetricsChurnRiskApi(TenantGenericApi):
    """Clients ranked by churn risk with their reasons (refreshed by a nightly job)."""

    read_roles = EVERYONE
    api_key_refused_roles = frozenset({Role.STAFF})  # staff read their own clients; a staff-role key owns none (_own_member)
    serializer_class = ClientHealthOutput
    pagination_class = ChurnRiskPagination
    filter_backends = []
    queryset_model = ClientHealth

    def get_tenant_queryset(self):
        if getattr(self.request, "tenant", None) is None:  # OpenAPI generation: no tenant, no rows
            return ClientHealth.objects.none()
        query = self.request.query_params
        owner_id = params.lookup_id(Membership, "owner", params.optional(query, "owner"))
        own = _own_member(self.request)
        if own is not None:
            if owner_id is not None and owner_id != own.pk:
                raise PermissionDenied("Staff read only their own clients.")
            owner_id = own.pk
        return selectors.client_health_list(
            self.request.tenant,
            segment_id=params.lookup_id(Segment, "segment", params.optional(query, "segment")),
            owner_id=owner_id, band=params.parse_band(query))

    @extend_schema(
        summary="Churn risk per client",
        description="Active clients, riskiest first: score 0–100, band, method (logistic regression or rules) and the top 3 "
                    "reasons in words; the page also carries the current churn model (method, held-out AUC). Staff read only the "
                    "clients they own (`owner` is implied; another member's answers 403).",
        parameters=[OpenApiParameter("segment", OpenApiTypes.UUID, description="Only clients now in this segment."),
                    OpenApiParameter("owner", OpenApiTypes.UUID, description="Only clients owned by this staff member (membership id)."),
                    OpenApiParameter("band", OpenApiTypes.STR, enum=list(params.BANDS), description="Only this risk band.")],
        responses={200: ClientHealthOutput(many=True), 400: _bad_request("`unknown_segment`", "`unknown_owner`", "`invalid_band`")})
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        model = selectors.churn_model_current()
        response.data["model"] = None if model is None else {
            "method": model.method, "auc": model.auc, "n_churned": model.n_churned, "n_retained": model.n_retained,
            "n_test": model.n_test, "fitted_at": model.fitted_at}
        return response
