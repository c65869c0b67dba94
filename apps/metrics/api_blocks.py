"""What every metrics API shares (DESIGN.md "API contract", issue 6): the base view (read-only, every
role), the range-and-filters envelope of the output, the documentation of the query parameters and of
their 400 answers, and the field helpers of the metric blocks. Each part (scores/, funnel/, churn/)
owns its views and output serializers in its apis.py; every metric block carries value, n, the counts
it was computed from, the 95% interval and `low_sample` (METRICS.md).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from apps.metrics import params
from apps.tenancy.api import TenantApi
from apps.tenancy.models import EVERYONE, Membership, Role

# --- metric block fields --------------------------------------------------------------------------

def _value(help_text: str):
    return serializers.FloatField(allow_null=True, help_text=help_text)


def _ci(side: str):
    return serializers.FloatField(allow_null=True, help_text=f"{side} end of the 95% interval (null when it is undefined).")


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
