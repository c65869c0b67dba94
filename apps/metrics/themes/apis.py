"""Theme analytics API (issue 19 item 5; METRICS.md "Comment themes"), mounted at /api/v1/t/<tenant_slug>/:
`metrics/themes/` (every theme's share, sentiment, NPS impact and detractor-driver difference over the period),
`metrics/themes/trend/` (each theme's share per week or month) and `metrics/themes/breakdown/` (per touchpoint,
stage, segment, staff…). Read-only, every role; from the stored statistics only (apps.metrics.themes.selectors),
with any combination of the attribution filters, as the response metrics.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response as ApiResponse

from apps.metrics import params
from apps.metrics.api_blocks import (
    _FILTER_ERRORS,
    _RANGE_ERRORS,
    FILTER_PARAMETERS,
    RANGE_PARAMETERS,
    MetricsApi,
    _ci,
    _doc,
    _RangeOutput,
    _value,
)
from apps.metrics.themes import selectors


class ThemeShareOutput(serializers.Serializer):
    value = _value("Share of the comments that carry the theme, %; Wilson interval.")
    comments = serializers.IntegerField(help_text="Comments with the theme.")
    of = serializers.IntegerField(help_text="Comments in the filtered set.")
    ci_low = _ci("Low")
    ci_high = _ci("High")


class ThemeSentimentOutput(serializers.Serializer):
    value = _value("Mean compound sentiment (−1…1) of the comments, each scored in its own language; t-interval.")
    n = serializers.IntegerField(help_text="Comments with a sentiment score.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    low_sample = serializers.BooleanField()


class ThemeImpactOutput(serializers.Serializer):
    value = _value("NPS of the commented NPS answers with the theme minus NPS of those without it, in points.")
    nps_with = _value("NPS of the commented answers with the theme.")
    n_with = serializers.IntegerField()
    nps_without = _value("NPS of the commented answers without it.")
    n_without = serializers.IntegerField()
    se = _value("√(SE_with² + SE_without²), plain NPS SE of each group.")
    ci_low = _ci("Low")
    ci_high = _ci("High")
    z = _value("Δ / SE.")
    significant = serializers.BooleanField(allow_null=True, help_text="|z| ≥ 1.96.")
    low_sample = serializers.BooleanField(help_text="Either group is below the workspace's NPS minimum sample.")


class ThemeDriverOutput(serializers.Serializer):
    value = _value("Share among detractors' comments − share among promoters' comments, in percentage points.")
    detractor_share = _value("% of detractors' comments with the theme.")
    promoter_share = _value("% of promoters' comments with the theme.")
    z = _value("Two-proportion z (pooled SE).")
    significant = serializers.BooleanField(allow_null=True, help_text="|z| ≥ 1.96.")


class ThemeShareChangeOutput(serializers.Serializer):
    delta = _value("Share now − share in the previous equal-length period, in percentage points.")
    z = _value("Two-proportion z (pooled SE); null when either period has fewer than 2 comments.")
    significant = serializers.BooleanField(allow_null=True, help_text="|z| ≥ 1.96.")


class ThemeRowOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    share = ThemeShareOutput()
    previous_share = ThemeShareOutput(help_text="The share over the previous equal-length period.")
    share_change = ThemeShareChangeOutput()
    sentiment = ThemeSentimentOutput()
    nps_impact = ThemeImpactOutput()
    driver = ThemeDriverOutput()


class ThemeCommentsNpsOutput(serializers.Serializer):
    n = serializers.IntegerField()
    promoters = serializers.IntegerField()
    detractors = serializers.IntegerField()
    value = _value("NPS of the commented NPS answers.")


class ThemeCommentsOutput(serializers.Serializer):
    comments = serializers.IntegerField(help_text="Counted responses with a comment in the period and filter.")
    nps = ThemeCommentsNpsOutput()
    sentiment = ThemeSentimentOutput()


class ThemesOutput(_RangeOutput):
    comments = ThemeCommentsOutput()
    themes = ThemeRowOutput(many=True, help_text="Every active theme, most commented first.")
    drivers = serializers.ListField(child=serializers.UUIDField(), help_text="Theme ids by their driver difference, largest first.")


class ThemeTrendPointOutput(ThemeShareOutput):
    start = serializers.DateField()
    end = serializers.DateField()


class ThemeTrendSeriesOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    points = ThemeTrendPointOutput(many=True)


class ThemesTrendOutput(_RangeOutput):
    interval = serializers.CharField()
    comments = serializers.ListField(child=serializers.IntegerField(), help_text="Comments per period.")
    series = ThemeTrendSeriesOutput(many=True)


class ThemeGroupThemeOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    share = ThemeShareOutput()
    sentiment = ThemeSentimentOutput()
    nps_impact = ThemeImpactOutput()
    driver = ThemeDriverOutput()


class ThemeGroupOutput(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The value's id (a uuid; the code for channels); null for \"Not attributed\".")
    label = serializers.CharField()
    comments = serializers.IntegerField()
    themes = ThemeGroupThemeOutput(many=True)


class ThemesBreakdownOutput(_RangeOutput):
    by = serializers.CharField()
    groups = ThemeGroupOutput(many=True, help_text="Per value of `by`, most comments first.")


class MetricsThemesApi(MetricsApi):
    @_doc("Comment themes",
          "Every active theme over the period: share of comments (Wilson interval), mean sentiment (t-interval), NPS impact "
          "(NPS with the theme − NPS without, among commented NPS answers; interval and significance) and detractor-driver "
          "difference (z-test); with the previous equal-length period's share. Any combination of attribution filters: the "
          "comments attributed to all of them.",
          ThemesOutput, RANGE_PARAMETERS + FILTER_PARAMETERS, _RANGE_ERRORS, _FILTER_ERRORS)
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        return ApiResponse(ThemesOutput(selectors.themes_report(f, request.tenant)).data)


class MetricsThemesTrendApi(MetricsApi):
    @_doc("Comment themes trend", "Each active theme's share of comments per week or calendar month of the period, among the comments "
          "attributed to every given filter.",
          ThemesTrendOutput, [*RANGE_PARAMETERS, OpenApiParameter("interval", OpenApiTypes.STR, enum=["week", "month"],
                                                                  description="Default: month."), *FILTER_PARAMETERS],
          _RANGE_ERRORS, _FILTER_ERRORS, "`invalid_interval`")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        interval = params.parse_interval(request.query_params, ("week", "month"), "month")
        return ApiResponse(ThemesTrendOutput(selectors.themes_trend(f, interval)).data)


class MetricsThemesBreakdownApi(MetricsApi):
    @_doc("Comment themes breakdown",
          "Each active theme's share, sentiment, NPS impact and driver difference per value of one dimension (`by`); "
          "comments without that attribution form one group, \"Not attributed\". Among the comments attributed to every given "
          "filter (any combination, `by`'s dimension included).",
          ThemesBreakdownOutput, [*RANGE_PARAMETERS, OpenApiParameter("by", OpenApiTypes.STR, enum=list(selectors.BY_DIMENSIONS),
                                                                      required=True), *FILTER_PARAMETERS],
          _RANGE_ERRORS, _FILTER_ERRORS, "`unknown_dimension` (`by`)")
    def get(self, request, *args, **kwargs):
        f = params.parse_filters(request.query_params, request.tenant)
        by = params.optional(request.query_params, "by")
        return ApiResponse(ThemesBreakdownOutput(selectors.themes_by(f, by, request.tenant)).data)
