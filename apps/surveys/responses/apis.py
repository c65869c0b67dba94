"""REST API for responses and their tags, mounted at /api/v1/t/<tenant_slug>/.

Everyone in the workspace reads responses; staff and up tag them (viewers read only). Bot-flagged
responses are left out of the list unless `include_bots=true`. Related objects travel as uuids.
"""

from django.db.models import Count
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response as ApiResponse

from apps.surveys.models import Answer, Response, ResponseTag, Tag
from apps.surveys.responses.filters import ResponseFilter
from apps.surveys.responses.selectors import response_answers_prefetch, response_list_base, tag_list
from apps.surveys.responses.services import TAG_NAME_MAX, response_tag_add, response_tag_remove
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, STAFF_AND_UP


class TagOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Tag
        fields = ["id", "name"]


class TagListOutput(TagOutput):
    response_count = serializers.IntegerField(read_only=True, help_text="How many responses carry this tag.")

    class Meta(TagOutput.Meta):
        fields = ["id", "name", "response_count"]


class TagLinkOutput(serializers.Serializer):
    id = serializers.UUIDField(source="tag.uuid", read_only=True, help_text="The tag's id.")
    name = serializers.CharField(source="tag.name", read_only=True)


class AnswerOutput(serializers.ModelSerializer):
    question = serializers.CharField(source="question.key", read_only=True, help_text="The question's stable key, e.g. nps, reason.")
    type = serializers.CharField(source="question.type", read_only=True)
    value = serializers.JSONField(read_only=True, help_text="An integer for scales and ratings, a string for text and single "
                                                            "choice, a list of strings for multiple choice.")

    class Meta:
        model = Answer
        fields = ["question", "type", "value"]


class ResponseOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    survey = serializers.UUIDField(source="survey.uuid", read_only=True)
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    version = serializers.UUIDField(source="version.uuid", read_only=True, help_text="The survey version answered (immutable).")
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    client = serializers.UUIDField(source="client.uuid", read_only=True, allow_null=True, default=None)
    client_name = serializers.CharField(source="client.name", read_only=True, allow_null=True, default=None)
    contact = serializers.UUIDField(source="contact.uuid", read_only=True, allow_null=True, default=None)
    contact_name = serializers.CharField(source="contact.name", read_only=True, allow_null=True, default=None)
    touchpoint = serializers.UUIDField(source="touchpoint.uuid", read_only=True, allow_null=True, default=None)
    touchpoint_name = serializers.CharField(source="touchpoint.name", read_only=True, allow_null=True, default=None)
    stage = serializers.UUIDField(source="stage.uuid", read_only=True, allow_null=True, default=None)
    stage_name = serializers.CharField(source="stage.name", read_only=True, allow_null=True, default=None)
    staff = serializers.UUIDField(source="staff.uuid", read_only=True, allow_null=True, default=None,
                                  help_text="The membership id of the staff member of the triggering interaction.")
    staff_name = serializers.CharField(source="staff.user.full_name", read_only=True, allow_null=True, default=None)
    tags = TagLinkOutput(source="tag_links", many=True, read_only=True)
    themes = serializers.SerializerMethodField(help_text="Names of the themes on the comment (rules, classifier or a person).")
    comment_language = serializers.CharField(read_only=True, help_text="The comment's detected language; blank without a comment or "
                                                                       "until it is analysed (moments after submission).")
    comment_sentiment = serializers.FloatField(read_only=True, allow_null=True,
                                               help_text="The comment's compound sentiment in its language, −1 … 1 (≤ −0.05 negative, "
                                                         "≥ 0.05 positive); null without a comment or until analysed.")

    class Meta:
        model = Response
        fields = ["id", "survey", "survey_name", "version", "version_number", "client", "client_name", "contact", "contact_name",
                  "touchpoint", "touchpoint_name", "stage", "stage_name", "staff", "staff_name", "channel", "language",
                  "submitted_at", "nps", "csat", "ces", "smiley", "comment", "comment_language", "comment_sentiment", "themes", "is_bot",
                  "tags"]

    def get_themes(self, response) -> list[str]:
        return [link.theme.name for link in getattr(response, "theme_list", [])]


class ResponseDetailOutput(ResponseOutput):
    interaction = serializers.UUIDField(source="interaction.uuid", read_only=True, allow_null=True, default=None,
                                        help_text="The interaction that triggered the survey, if any.")
    predicted_score = serializers.IntegerField(source="interaction.predicted_score", read_only=True, allow_null=True, default=None,
                                               help_text="The staff member's predicted score (0–10) on the triggering interaction.")
    segment = serializers.UUIDField(source="segment.uuid", read_only=True, allow_null=True, default=None)
    invitation = serializers.UUIDField(source="invitation.uuid", read_only=True, allow_null=True, default=None)
    answers = AnswerOutput(source="answer_list", many=True, read_only=True, help_text="Every answer, in question order.")

    class Meta(ResponseOutput.Meta):
        fields = [*ResponseOutput.Meta.fields, "interaction", "predicted_score", "segment", "invitation", "bot_reason", "answers"]


def _detail_queryset():
    return (response_list_base().select_related("segment", "interaction", "invitation")
            .prefetch_related(response_answers_prefetch()))


@extend_schema_view(get=extend_schema(
    summary="List responses",
    description="Newest first. Bot-flagged responses are left out unless `include_bots=true`. `from`/`to` are days in the "
                "workspace's time zone (both inclusive)."))
class ResponseListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    serializer_class = ResponseOutput
    queryset_model = Response
    filterset_class = ResponseFilter

    def get_tenant_queryset(self):
        return response_list_base()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@extend_schema_view(get=extend_schema(summary="Read a response",
                                      description="With its answers (question key, type, value) and the triggering interaction's "
                                                  "predicted score."))
class ResponseDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    serializer_class = ResponseDetailOutput
    queryset_model = Response

    def get_tenant_queryset(self):
        return _detail_queryset()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


class ResponseTagAddApi(TenantGenericApi):
    """Tag a response by name: an existing tag in any case, or a new one. Tagging twice changes nothing (200)."""

    read_roles = EVERYONE
    write_roles = STAFF_AND_UP
    serializer_class = TagOutput
    queryset_model = Response

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=TAG_NAME_MAX, help_text="A tag name; the same name in any case is the same tag.")

    def get_tenant_queryset(self):
        return Response.objects.all()

    @extend_schema(summary="Tag a response", request=Input, responses={201: TagOutput, 200: TagOutput},
                   description="201 when the tag was added (the tag is created if the name is new), 200 when the response "
                               "already had it.",
                   examples=[OpenApiExample("Tag by name", value={"name": "Pricing"}, request_only=True)])
    def post(self, request, *args, **kwargs):
        response = self.get_object()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        tag, added = response_tag_add(tenant=request.tenant, acting_member=request.tenant_access.membership, response=response,
                                      name=data.validated_data["name"])
        return ApiResponse(TagOutput(tag).data, status=status.HTTP_201_CREATED if added else status.HTTP_200_OK)


class ResponseTagRemoveApi(TenantGenericApi):
    """The tag `uuid` on the response `response_uuid`."""

    read_roles = EVERYONE
    write_roles = STAFF_AND_UP
    serializer_class = TagOutput
    queryset_model = ResponseTag
    lookup_field = "tag__uuid"

    def get_tenant_queryset(self):
        return ResponseTag.objects.filter(response__uuid=self.kwargs.get("response_uuid")).select_related("tag", "response")

    @extend_schema(summary="Remove a tag from a response", responses={204: None},
                   description="The tag itself stays (other responses may carry it). 404 if the response does not carry it.")
    def delete(self, request, *args, **kwargs):
        link = self.get_object()
        response_tag_remove(tenant=request.tenant, acting_member=request.tenant_access.membership, response=link.response, tag=link.tag)
        return ApiResponse(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(summary="List tags", description="Every tag of the workspace, by name, with how many "
                                                                       "responses carry it."))
class TagListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    serializer_class = TagListOutput
    queryset_model = Tag

    def get_tenant_queryset(self):
        return tag_list().annotate(response_count=Count("response_tags"))

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
