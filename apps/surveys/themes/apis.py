"""Comment themes over the API (issue 20 item 7: an API for every admin task): the taxonomy the themes page
manages — list, create, read, change (name, description, keywords per language, active), delete — through the same
services (a change to keywords or to being active re-themes every comment on commit; a deletion recomputes the days
it was on). CX leads and admins, as on the page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.surveys.models import Theme
from apps.surveys.themes import selectors, services
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import LEADS

KEYWORDS_HELP = ('Keywords per language, matched on lemmas: {"en": ["price", "expensive"], "fr": ["prix"], "*": ["Acme Pro"]} '
                 '("*": the same in every language).')


class ThemeOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    keywords = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), read_only=True, help_text=KEYWORDS_HELP)
    comment_count = serializers.IntegerField(read_only=True, help_text="Comments it is on.")
    corrected_count = serializers.IntegerField(read_only=True, help_text="People's decisions about it (training examples).")

    class Meta:
        model = Theme
        fields = ["id", "name", "description", "keywords", "is_active", "origin", "comment_count", "corrected_count",
                  "model_precision", "model_recall", "created_at"]


class ThemeInput(serializers.Serializer):
    name = serializers.CharField(max_length=Theme._meta.get_field("name").max_length)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    keywords = serializers.DictField(child=serializers.ListField(child=serializers.CharField(max_length=80)), required=False,
                                     help_text=KEYWORDS_HELP)


EXAMPLE = OpenApiExample("Price", request_only=True, value={"name": "Price", "description": "Fees, invoices, value for money",
                                                            "keywords": {"en": ["price", "expensive", "invoice"], "fr": ["prix", "cher"]}})


@extend_schema_view(get=extend_schema(summary="List the comment themes"), post=extend_schema(summary="Create a comment theme"))
class ThemeListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = LEADS
    write_roles = LEADS
    serializer_class = ThemeOutput
    queryset_model = Theme

    def get_tenant_queryset(self):
        return selectors.theme_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=ThemeInput, responses={201: ThemeOutput}, examples=[EXAMPLE])
    def post(self, request, *args, **kwargs):
        data = ThemeInput(data=request.data)
        data.is_valid(raise_exception=True)
        theme = services.theme_create(tenant=request.tenant, **data.validated_data)
        return Response(ThemeOutput(selectors.theme_list().get(pk=theme.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a comment theme"), patch=extend_schema(summary="Change a comment theme"),
                    delete=extend_schema(summary="Delete a comment theme",
                                         description="Its assignments and statistics go; the days it was on are recomputed."))
class ThemeDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = LEADS
    write_roles = LEADS
    serializer_class = ThemeOutput
    queryset_model = Theme

    class Input(ThemeInput):
        name = serializers.CharField(max_length=Theme._meta.get_field("name").max_length, required=False)
        is_active = serializers.BooleanField(required=False, help_text="An inactive theme is not assigned nor shown on dashboards.")

    def get_tenant_queryset(self):
        return selectors.theme_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=ThemeOutput,
                   examples=[OpenApiExample("Switch it off", request_only=True, value={"is_active": False})])
    def patch(self, request, *args, **kwargs):
        theme = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        theme = services.theme_update(theme=Theme.objects.get(pk=theme.pk), **data.validated_data)
        return Response(ThemeOutput(selectors.theme_list().get(pk=theme.pk)).data)

    def delete(self, request, *args, **kwargs):
        services.theme_delete(theme=Theme.objects.get(pk=self.get_object().pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
