"""Response funnel API (DESIGN.md "API contract", issue 6), mounted at /api/v1/t/<tenant_slug>/metrics/funnel/:
the invitations created in the period, overall and per survey, read from the funnel rollup
(apps.metrics.funnel.selectors). Read-only, open to every role."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response as ApiResponse

from apps.metrics import params
from apps.metrics.api_blocks import _FILTER_BY_NAME, _RANGE_ERRORS, RANGE_PARAMETERS, MetricsApi, RowKeyOutput, _ci, _doc, _RangeOutput, _value
from apps.metrics.funnel import selectors


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

class FunnelRowOutput(RowKeyOutput, FunnelBlockOutput):
    pass


class FunnelOutput(_RangeOutput):
    overall = FunnelBlockOutput()
    surveys = FunnelRowOutput(many=True, help_text="Per survey, most invitations first.")

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
