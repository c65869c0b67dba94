"""Metrics API (DESIGN.md "API contract", issue 6), mounted at /api/v1/t/<tenant_slug>/metrics/.

Read-only (GET) and open to every role of the workspace (viewers read the numbers). Each view parses
its query parameters (apps.metrics.params: bad ones answer 400 with a stable code), calls one selector
(apps.metrics.selectors: rollup tables only, never response rows) and renders it through the output
serializers below, which are also its documented JSON shape. Every metric block carries value, n, the
counts it was computed from, the 95% interval and `low_sample` (METRICS.md).
"""

from __future__ import annotations

import dataclasses

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response as ApiResponse

from apps.clients.models import Segment
from apps.core.pagination import PageNumberPagination
from apps.metrics import params, selectors
from apps.metrics.models import ClientHealth
from apps.tenancy.api import TenantApi, TenantGenericApi
from apps.tenancy.models import EVERYONE, Membership, Role

# --- metric blocks --------------------------------------------------------------------------------


def _value(help_text: str):
    return serializers.FloatField(allow_null=True, help_text=help_text)


def _ci(side: str):
    return serializers.FloatField(allow_null=True, help_text=f"{side} end of the 95% interval (null when it is undefined).")


_LOW_SAMPLE = "n is below the workspace's minimum sample size (min_n): the value is shown but unreliable."


class NpsBlockOutput(serializers.Serializer):
    value = _value("NPS = 100 × (promoters − detractors) / n, −100…100; null when n = 0.")
    n = serializers.IntegerField(help_text="Answers with a value.")
    promoters = serializers.IntegerField(help_text="Answers 9–10.")
    passives = serializers.IntegerField(help_text="Answers 7–8.")
    detractors = serializers.IntegerField(help_text="Answers 0–6.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    low_sample = serializers.BooleanField(help_text=_LOW_SAMPLE)


class CsatBlockOutput(serializers.Serializer):
    value = _value("CSAT % = 100 × (answers 4–5) / n (top-2-box); Wilson interval.")
    n = serializers.IntegerField()
    top2 = serializers.IntegerField(help_text="Answers 4–5.")
    bottom2 = serializers.IntegerField(help_text="Answers 1–2.")
    mean = _value("Mean answer, 1–5.")
    net = _value("Net satisfaction = 100 × (answers 4–5 − answers 1–2) / n.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    low_sample = serializers.BooleanField(help_text=_LOW_SAMPLE)


class CesBlockOutput(serializers.Serializer):
    value = _value("CES 2.0 = mean answer, 1–7; t-interval.")
    n = serializers.IntegerField()
    sum = serializers.IntegerField(help_text="Sum of the answers.")
    sd = _value("Sample standard deviation (null below n = 2).")
    easy = serializers.IntegerField(help_text="Answers 5–7.")
    pct_easy = _value("% easy = 100 × (answers 5–7) / n.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    low_sample = serializers.BooleanField(help_text=_LOW_SAMPLE)


class SmileyBlockOutput(serializers.Serializer):
    value = _value("% happy = 100 × happy / n; Wilson interval.")
    n = serializers.IntegerField()
    happy = serializers.IntegerField()
    neutral = serializers.IntegerField()
    sad = serializers.IntegerField()
    net = _value("Net smiley = 100 × (happy − sad) / n.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    low_sample = serializers.BooleanField(help_text=_LOW_SAMPLE)


class GapBlockOutput(serializers.Serializer):
    value = _value("Perception gap = mean(predicted − actual NPS answer) in points over the pairs; positive = staff over-estimate.")
    n = serializers.IntegerField(help_text="(predicted, actual) pairs.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    perceived_nps = _value("NPS computed from the staff predictions of the same pairs.")
    actual_nps = _value("NPS computed from the answers of the same pairs.")
    low_sample = serializers.BooleanField(help_text=_LOW_SAMPLE)


class PreviousOutput(serializers.Serializer):
    value = _value("The metric over the previous equal-length period.")
    n = serializers.IntegerField()


class ChangeOutput(serializers.Serializer):
    delta = _value("Current − previous value (null unless both periods have a value).")
    z = _value("z statistic of the change (null when either period has n < 2).")
    significant_change = serializers.BooleanField(allow_null=True, help_text="|z| ≥ 1.96 (95%).")


class _WithChange(serializers.Serializer):
    previous = PreviousOutput()
    change = ChangeOutput()


class NpsSummaryBlockOutput(NpsBlockOutput, _WithChange):
    pass


class CsatSummaryBlockOutput(CsatBlockOutput, _WithChange):
    pass


class CesSummaryBlockOutput(CesBlockOutput, _WithChange):
    pass


class SmileySummaryBlockOutput(SmileyBlockOutput, _WithChange):
    pass


class GapSummaryBlockOutput(GapBlockOutput, _WithChange):
    pass


class BlocksOutput(serializers.Serializer):
    responses = serializers.IntegerField(help_text="Counted responses (submitted, not bot-flagged).")
    nps = NpsBlockOutput()
    csat = CsatBlockOutput()
    ces = CesBlockOutput()
    smiley = SmileyBlockOutput()
    enps = NpsBlockOutput(help_text="eNPS: the NPS rule over employee-pulse answers.")
    perception_gap = GapBlockOutput()


class VolatilityBlockOutput(serializers.Serializer):
    value = _value("Mean |Δ| between a client's consecutive scores within a journey, on the 0–100 scale.")
    n = serializers.IntegerField(help_text="Transitions observed.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    low_sample = serializers.BooleanField(help_text=_LOW_SAMPLE)


class FunnelBlockOutput(serializers.Serializer):
    invited = serializers.IntegerField(help_text="Invitations created for sending (skipped ones are apart).")
    delivered = serializers.IntegerField(help_text="invited − bounced − failed − pending.")
    opened = serializers.IntegerField()
    responded = serializers.IntegerField()
    bounced = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Queued, not sent yet.")
    skipped = serializers.IntegerField(help_text="Never sent: opted out, fatigue rule, no address…")
    response_rate = _value("100 × responded / delivered; Wilson interval.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    open_rate = _value("100 × opened / delivered.")


# --- envelopes ------------------------------------------------------------------------------------

_UUID_ECHO = "The filter given (an id of this workspace), or null."


class FiltersOutput(serializers.Serializer):
    survey = serializers.UUIDField(allow_null=True, help_text=_UUID_ECHO)
    touchpoint = serializers.UUIDField(allow_null=True, help_text=_UUID_ECHO)
    stage = serializers.UUIDField(allow_null=True, help_text=_UUID_ECHO)
    journey = serializers.UUIDField(allow_null=True, help_text=_UUID_ECHO)
    segment = serializers.UUIDField(allow_null=True, help_text=_UUID_ECHO)
    staff = serializers.UUIDField(allow_null=True, help_text=_UUID_ECHO)
    channel = serializers.CharField(allow_null=True, help_text="The channel code given, or null.")


class _RangeOutput(serializers.Serializer):
    # `from` is a Python keyword: declared through the class namespace.
    locals()["from"] = serializers.DateField(source="first", help_text="First day (tenant time zone), inclusive.")
    locals()["to"] = serializers.DateField(source="last", help_text="Last day (tenant time zone), inclusive.")
    filters = FiltersOutput()


class RowKeyOutput(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The value's id (a uuid; the code for channels); null for "
                                                           "\"Not attributed\" and for a value removed since.")
    label = serializers.CharField(help_text="Name (staff: full name), channel label, or \"Not attributed\".")


class SummaryOutput(_RangeOutput):
    previous_from = serializers.DateField(source="previous_first", help_text="First day of the previous equal-length period.")
    previous_to = serializers.DateField(source="previous_last", help_text="Last day of the previous period (the day before `from`).")
    responses = serializers.IntegerField(source="metrics.responses", help_text="Counted responses in the period.")
    previous_responses = serializers.IntegerField(help_text="Counted responses in the previous period.")
    nps = NpsSummaryBlockOutput(source="metrics.nps")
    csat = CsatSummaryBlockOutput(source="metrics.csat")
    ces = CesSummaryBlockOutput(source="metrics.ces")
    smiley = SmileySummaryBlockOutput(source="metrics.smiley")
    enps = NpsSummaryBlockOutput(source="metrics.enps", help_text="eNPS: the NPS rule over employee-pulse answers.")
    perception_gap = GapSummaryBlockOutput(source="metrics.perception_gap")


class TrendPointOutput(BlocksOutput):
    start = serializers.DateField(help_text="First day of the period (cut to the range).")
    end = serializers.DateField(help_text="Last day of the period (cut to the range).")
    partial = serializers.BooleanField(help_text="The period was cut by `from` or `to`.")


class TrendOutput(_RangeOutput):
    interval = serializers.CharField(help_text="day, week (Monday to Sunday) or month.")
    points = TrendPointOutput(many=True)


class BreakdownRowOutput(RowKeyOutput, BlocksOutput):
    pass


class BreakdownOutput(_RangeOutput):
    by = serializers.CharField(help_text="The dimension broken down.")
    rows = BreakdownRowOutput(many=True, help_text="One row per value, most responses first.")


class GapRowOutput(RowKeyOutput, GapBlockOutput):
    pass


class PerceptionGapOutput(_RangeOutput):
    overall = GapBlockOutput()
    staff = GapRowOutput(many=True, help_text="Per staff member (of the interaction that triggered the survey).")
    touchpoints = GapRowOutput(many=True)
    stages = GapRowOutput(many=True)


class VolatilityRowOutput(RowKeyOutput, VolatilityBlockOutput):
    pass


class TransitionOutput(VolatilityBlockOutput):
    journey = serializers.UUIDField(allow_null=True, help_text="The journey's id.")
    journey_label = serializers.CharField()
    from_stage = serializers.UUIDField(allow_null=True, help_text="The earlier response's stage (null: none, or removed).")
    from_label = serializers.CharField()
    to_stage = serializers.UUIDField(allow_null=True, help_text="The later response's stage.")
    to_label = serializers.CharField()


class VolatilityOutput(_RangeOutput):
    overall = VolatilityBlockOutput()
    journeys = VolatilityRowOutput(many=True)
    transitions = TransitionOutput(many=True, help_text="Per stage transition (from-stage → to-stage), in journey and stage order.")


class FunnelRowOutput(RowKeyOutput, FunnelBlockOutput):
    pass


class FunnelOutput(_RangeOutput):
    overall = FunnelBlockOutput()
    surveys = FunnelRowOutput(many=True, help_text="Per survey, most invitations first.")


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


# --- documentation of the query parameters --------------------------------------------------------

def _uuid_parameter(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, description=f"Only responses attributed to this {what} (an id of this "
                                                                 f"workspace; another one answers 400 `unknown_{name}`).")


RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day, inclusive, in the workspace's time zone. "
                                                            "Default: 89 days before `to` (the last 90 days)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive, in the workspace's time zone. Default: today."),
]
FILTER_PARAMETERS = [
    _uuid_parameter("survey", "survey"), _uuid_parameter("touchpoint", "touchpoint"), _uuid_parameter("stage", "journey stage"),
    _uuid_parameter("journey", "journey"), _uuid_parameter("segment", "client segment (as of submission)"),
    _uuid_parameter("staff", "staff member (membership id)"),
    OpenApiParameter("channel", OpenApiTypes.STR, enum=list(params.CHANNELS), description="Only responses from this channel."),
]
_FILTER_BY_NAME = {p.name: p for p in FILTER_PARAMETERS}

_RANGE_ERRORS = "`invalid_date`, `range_reversed` (`from` after `to`), `range_too_long` (more than 5 years)"
_FILTER_ERRORS = "`unknown_<filter>` (an id that is not one of this workspace's), `invalid_channel`"


def _bad_request(*codes: str) -> OpenApiResponse:
    return OpenApiResponse(response={"$ref": "#/components/schemas/Error"},
                           description="A bad query parameter, with its `code`: " + ", ".join(codes) + ".")


def _doc(summary: str, description: str, output, parameters: list, *errors: str):
    return extend_schema(summary=summary, description=description, parameters=parameters,
                         responses={200: output, 400: _bad_request(*errors)})


# --- views ----------------------------------------------------------------------------------------

class MetricsApi(TenantApi):
    """Metrics are read by every role; GET only."""

    read_roles = EVERYONE


def _own_member(request) -> Membership | None:
    """Staff read only their own perception gap and their own clients' details (issue 7 "Role rules"):
    the member whose numbers a staff caller may read — None for the other roles (no restriction). A
    staff-role API key belongs to no member, so it is refused."""
    access = request.tenant_access
    if access.role != Role.STAFF:
        return None
    if access.membership is None:
        raise PermissionDenied("A staff-role API key belongs to no staff member, so it cannot read individual numbers.")
    return access.membership


class MetricsSummaryApi(MetricsApi):
    @_doc("Metrics summary",
          "Every metric (NPS, CSAT, CES, smiley, eNPS, perception gap) over the period, each with the previous equal-length "
          "period (the same number of days, ending the day before `from`), the change, its z statistic and `significant_change`.",
          SummaryOutput, RANGE_PARAMETERS + FILTER_PARAMETERS, _RANGE_ERRORS, _FILTER_ERRORS)
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        return ApiResponse(SummaryOutput(selectors.metrics_summary(request.tenant, f)).data)


class MetricsTrendApi(MetricsApi):
    @_doc("Metrics trend",
          "Every metric per day, week (Monday to Sunday) or calendar month of the period, in the workspace's time zone; the "
          "first and last periods are cut to the range (`partial`). Periods without responses are listed with n = 0.",
          TrendOutput, [*RANGE_PARAMETERS, OpenApiParameter("interval", OpenApiTypes.STR, enum=list(params.TREND_INTERVALS),
                                                            description="Default: day."), *FILTER_PARAMETERS],
          _RANGE_ERRORS, _FILTER_ERRORS, "`invalid_interval`")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        interval = params.parse_interval(request.query_params)
        return ApiResponse(TrendOutput(selectors.metrics_trend(request.tenant, f, interval)).data)


class MetricsBreakdownApi(MetricsApi):
    @_doc("Metrics breakdown",
          "Every metric per value of one dimension (`by`), most responses first; responses without that attribution form "
          "one row labelled \"Not attributed\".",
          BreakdownOutput, [*RANGE_PARAMETERS, OpenApiParameter("by", OpenApiTypes.STR, enum=list(params.BREAKDOWN_DIMENSIONS),
                                                                required=True, description="The dimension to break down by."),
                            *FILTER_PARAMETERS],
          _RANGE_ERRORS, _FILTER_ERRORS, "`unknown_dimension` (`by`)")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        by = params.parse_dimension(request.query_params)
        return ApiResponse(BreakdownOutput(selectors.metrics_breakdown(request.tenant, f, by)).data)


class MetricsPerceptionGapApi(MetricsApi):
    api_key_refused_roles = frozenset({Role.STAFF})  # a staff member reads their own gap; a staff-role key is no one (_own_member)

    @_doc("Perception gap",
          "Pairs of (the staff member's predicted score, the actual NPS answer to the survey that interaction triggered): the "
          "mean gap (predicted − actual) with its interval, perceived vs actual NPS, overall and per staff member, touchpoint "
          "and journey stage (values with at least one pair). Staff read only their own pairs (their `staff` is implied; "
          "another member's answers 403).",
          PerceptionGapOutput, RANGE_PARAMETERS + FILTER_PARAMETERS, _RANGE_ERRORS, _FILTER_ERRORS)
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        own = _own_member(request)
        if own is not None:
            if f.staff is not None and f.staff != own.pk:
                raise PermissionDenied("Staff read only their own perception gap.")
            f = dataclasses.replace(f, staff=own.pk, uuids={**f.uuids, "staff": str(own.uuid)})
        return ApiResponse(PerceptionGapOutput(selectors.perception_gap(request.tenant, f)).data)


class MetricsVolatilityApi(MetricsApi):
    ALLOWED = ("journey", "stage")

    @_doc("Interaction volatility",
          "Mean |Δ| between a client's consecutive scores (rescaled to 0–100) within a journey, for the transitions dated in "
          "the period (the later response's day): overall, per journey and per stage transition. Filters: `journey`, and "
          "`stage` (transitions into or out of it); any other filter answers 400 `unsupported_filter`.",
          VolatilityOutput, [*RANGE_PARAMETERS, _FILTER_BY_NAME["journey"], _FILTER_BY_NAME["stage"]],
          _RANGE_ERRORS, "`unknown_journey`, `unknown_stage`, `unsupported_filter`")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant, allowed=self.ALLOWED)
        return ApiResponse(VolatilityOutput(selectors.volatility(request.tenant, f)).data)


class MetricsFunnelApi(MetricsApi):
    ALLOWED = ("survey", "channel")

    @_doc("Response funnel",
          "Invitations created in the period (by day of creation): invited, delivered, opened, responded, bounced, failed, "
          "pending, skipped, and the response rate (responded / delivered) with its Wilson interval, overall and per survey. "
          "Filters: `survey`, `channel`; any other filter answers 400 `unsupported_filter`.",
          FunnelOutput, [*RANGE_PARAMETERS, _FILTER_BY_NAME["survey"],
                         OpenApiParameter("channel", OpenApiTypes.STR, description="Only invitations sent on this channel.")],
          _RANGE_ERRORS, "`unknown_survey`, `invalid_channel`, `unsupported_filter`")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant, allowed=self.ALLOWED)
        return ApiResponse(FunnelOutput(selectors.funnel(request.tenant, f)).data)


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

