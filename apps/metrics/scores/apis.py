"""Scores API (DESIGN.md "API contract", issue 6), mounted at /api/v1/t/<tenant_slug>/metrics/:
summary, trend, breakdown, perception gap and volatility.

Read-only (GET) and open to every role of the workspace (viewers read the numbers). Each view parses
its query parameters (apps.metrics.params: bad ones answer 400 with a stable code), calls one selector
(apps.metrics.scores.selectors: rollup tables only, never response rows) and renders it through the
output serializers below, which are also its documented JSON shape. Every metric block carries value,
n, the counts it was computed from, the 95% interval and `low_sample` (METRICS.md).
"""

from __future__ import annotations

import dataclasses

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response as ApiResponse

from apps.metrics import params
from apps.metrics.api_blocks import (
    _FILTER_BY_NAME,
    _FILTER_ERRORS,
    _RANGE_ERRORS,
    FILTER_PARAMETERS,
    RANGE_PARAMETERS,
    MetricsApi,
    RowKeyOutput,
    _ci,
    _doc,
    _own_member,
    _RangeOutput,
    _value,
)
from apps.metrics.scores import selectors
from apps.tenancy.models import Role

# --- metric blocks --------------------------------------------------------------------------------

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


# --- envelopes ------------------------------------------------------------------------------------

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


# --- views ----------------------------------------------------------------------------------------

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
