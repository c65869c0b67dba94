"""Kiosk devices over the API (issue 20 item 7): list a survey's devices, create one — its address and QR code are in
the creation answer only (the key is never stored) — and revoke one. The same services as the kiosk pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.core.qr import qr_svg_file
from apps.surveys.builder.apis import SurveyChildApi
from apps.surveys.kiosks.services import kiosk_create, kiosk_revoke, kiosk_url
from apps.surveys.models import KioskDevice
from apps.tenancy.models import LEADS
from apps.touchpoints.models import Touchpoint


class KioskOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)

    class Meta:
        model = KioskDevice
        fields = ["id", "name", "touchpoint", "last_seen_at", "revoked_at", "created_at"]


class KioskCreatedOutput(KioskOutput):
    url = serializers.URLField(help_text="The device's address, with its key: shown in this answer only.")
    qr_svg = serializers.CharField(help_text="The address's QR code, an SVG document: scan it with the device.")

    class Meta(KioskOutput.Meta):
        fields = [*KioskOutput.Meta.fields, "url", "qr_svg"]


class KioskInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, help_text="Where it stands, e.g. “Brussels front desk”.")
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", queryset=Touchpoint.objects, allow_null=True, required=False,
                                              help_text="Answers are attributed to this touchpoint (default: the survey's).")


@extend_schema_view(get=extend_schema(summary="List a survey's kiosk devices"), post=extend_schema(summary="Create a kiosk device"))
class KioskListApi(mixins.ListModelMixin, SurveyChildApi):
    read_roles = LEADS
    serializer_class = KioskOutput
    queryset_model = KioskDevice

    def get_tenant_queryset(self):
        return KioskDevice.objects.filter(survey__uuid=self.kwargs.get("survey_uuid")).select_related("touchpoint").order_by("revoked_at", "name")

    def get(self, request, *args, **kwargs):
        self.get_survey()  # 404 for a survey not in this workspace
        return self.list(request, *args, **kwargs)

    @extend_schema(request=KioskInput, responses={201: KioskCreatedOutput},
                   examples=[OpenApiExample("A tablet at the desk", value={"name": "Brussels front desk"}, request_only=True)])
    def post(self, request, *args, **kwargs):
        survey = self.get_survey()
        data = KioskInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, raw_key = kiosk_create(tenant=request.tenant, acting_user=request.user, acting_member=request.tenant_access.membership,
                                       survey=survey, **data.validated_data)
        url = kiosk_url(raw_key)
        body = {**KioskOutput(device).data, "url": url, "qr_svg": qr_svg_file(url).decode()}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(post=extend_schema(summary="Revoke a kiosk device (its address stops working at once)"))
class KioskRevokeApi(SurveyChildApi):
    read_roles = LEADS
    serializer_class = KioskOutput
    queryset_model = KioskDevice

    @extend_schema(request=None, responses=KioskOutput)
    def post(self, request, *args, **kwargs):
        device = get_object_or_404(KioskDevice.objects.filter(survey=self.get_survey()), uuid=self.kwargs["uuid"])
        return Response(KioskOutput(kiosk_revoke(tenant=request.tenant, acting_user=request.user, kiosk=device)).data)
