"""Survey builder API: surveys (created from a kind's template), their draft's questions, publish,
pause/resume/close, and the versions.

Content edits go to the survey's draft (created by the first edit, copying the live version); a
question of a published version answers 409 `version_published` to PATCH and DELETE. Nested routes
resolve the survey in the tenant first: another tenant's survey answers 404 like a missing one.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.response import Response

from apps.clients.models import Segment
from apps.core.qr import qr_svg_file
from apps.journeys.models import Stage
from apps.surveys import logic
from apps.surveys.builder import selectors, services
from apps.surveys.builder.forms import SurveyFilter
from apps.surveys.distribution.links import embed_snippet, web_link_url
from apps.surveys.distribution.services import survey_email_texts_update
from apps.surveys.models import LANGUAGE_CHOICES, PublishedVersionIsImmutable, Question, QuestionType, Survey, SurveyKind, SurveyVersion
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, LEADS
from apps.touchpoints.models import Touchpoint

EXAMPLE_UUID = "3f1c2b9e-8d4a-4c55-9a51-0c1d2e3f4a5b"


class VersionPublished(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This question belongs to a published version, which never changes: edit the survey's draft."
    error_code = "version_published"


class SurveyHasResponses(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This survey has responses: close it instead (responses are never deleted with their survey)."
    error_code = "survey_has_responses"


VERSION_PUBLISHED_RESPONSE = OpenApiResponse(OpenApiTypes.OBJECT, description="`version_published`: that version is published; "
                                                                               "edit the draft's copy of the question.")


# --- output ---------------------------------------------------------------------------------------------

SHOW_IF_HELP = ('Shown only if this holds on the answers of earlier pages: {"match": "all"|"any", "rules": [{"question": key, '
                '"op": "between", "min": 0, "max": 6} | {"question", "op": "any_of"|"none_of", "values": [choice values]} | '
                '{"question", "op": "answered"|"not_answered"}]}; {} = always.')
ENDINGS_HELP = ('Endings per branch, the first whose rule holds wins: [{"key", "when": rule (as show_if, on any question), '
                '"texts": {lang: {"title", "thanks"}}}].')


def _questions_data(questions: list) -> list:
    return SurveyQuestionOutput(questions, many=True, context={"pages": logic.page_numbers(questions)}).data


class SurveyQuestionOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True, help_text="The version's number.")
    text = serializers.JSONField(read_only=True, help_text="Per language: {\"en\": \"…\", \"fr\": \"…\"}.")
    options = serializers.JSONField(read_only=True, help_text="Scale labels, rating bounds or choices (see the question types).")
    page = serializers.SerializerMethodField(help_text="Its page, from 1 (a question with `new_page` starts one).")
    show_if = serializers.JSONField(read_only=True, help_text=SHOW_IF_HELP)

    class Meta:
        model = Question
        fields = ["id", "version", "order", "key", "type", "text", "options", "required", "new_page", "page", "show_if"]

    def get_page(self, question) -> int:
        pages = self.context.get("pages")
        if pages is None:
            pages = logic.page_numbers(selectors.questions_of(question.version))
        return pages.get(question.key, 1)


class SurveyVersionOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    texts = serializers.JSONField(read_only=True, help_text="Per language: {\"en\": {\"title\", \"intro\", \"thanks\"}}.")
    published_by = serializers.UUIDField(source="published_by.uuid", read_only=True, allow_null=True, default=None,
                                         help_text="The member who published it.")
    is_published = serializers.BooleanField(read_only=True)
    response_count = serializers.IntegerField(read_only=True, allow_null=True, default=None, help_text="Responses to this version (bots excluded).")
    endings = serializers.JSONField(read_only=True, help_text=ENDINGS_HELP)

    class Meta:
        model = SurveyVersion
        fields = ["id", "number", "is_published", "published_at", "published_by", "texts", "endings", "response_count", "created_at"]


class SurveyVersionDetailOutput(SurveyVersionOutput):
    questions = serializers.SerializerMethodField()

    class Meta(SurveyVersionOutput.Meta):
        fields = [*SurveyVersionOutput.Meta.fields, "questions"]

    @extend_schema_field(SurveyQuestionOutput(many=True))
    def get_questions(self, version):
        questions = getattr(version, "_questions", None)
        if questions is None:
            questions = selectors.questions_of(version)
        return _questions_data(list(questions))


class SurveyOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    stage = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    recurring_segment = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    languages = serializers.ListField(child=serializers.CharField(), read_only=True)
    current_version = serializers.IntegerField(source="current_version.number", read_only=True, allow_null=True, default=None,
                                               help_text="The number of the published version respondents answer.")
    response_count = serializers.IntegerField(read_only=True, help_text="Responses (bots excluded).")
    has_draft = serializers.BooleanField(read_only=True, help_text="A draft version awaits publishing.")

    class Meta:
        model = Survey
        fields = ["id", "name", "kind", "status", "touchpoint", "stage", "languages", "default_language", "opens_at", "closes_at",
                  "trigger", "trigger_delay_minutes", "recurring_months", "recurring_segment", "reminder_count",
                  "reminder_interval_days", "invitation_valid_days", "web_link_enabled", "current_version", "has_draft",
                  "response_count", "created_at", "updated_at"]


class WebLinkOutput(serializers.Serializer):
    url = serializers.URLField(help_text="The public web link: anyone with it can answer, anonymously.")
    embed_html = serializers.CharField(help_text="An <iframe> of the link's minimal page, to paste into another site.")
    qr_svg = serializers.CharField(help_text="The link's QR code, an SVG document.")


EMAIL_TEXTS_HELP = ("The invitation e-mail's own words per language: {lang: {subject, intro, button, reminder_subject, "
                    "reminder_intro}}; a part left out or empty takes the default; intros are basic HTML (sanitised); texts may pipe "
                    "{{contact.first_name|fallback}} and the other tokens. A PATCH replaces the languages it names.")


class SurveyDetailOutput(SurveyOutput):
    live_version = serializers.SerializerMethodField(help_text="The published version respondents answer, with its questions.")
    draft = serializers.SerializerMethodField(help_text="The draft being edited, with its questions (null when none).")
    web_link = serializers.SerializerMethodField(help_text="The public web link, its embed snippet and QR code (null while it is off).")
    email_texts = serializers.JSONField(read_only=True, help_text=EMAIL_TEXTS_HELP)

    class Meta(SurveyOutput.Meta):
        fields = [*SurveyOutput.Meta.fields, "live_version", "draft", "web_link", "email_texts"]

    @extend_schema_field(WebLinkOutput(allow_null=True))
    def get_web_link(self, survey):
        url = web_link_url(survey)
        if url is None:
            return None
        return {"url": url, "embed_html": embed_snippet(survey), "qr_svg": qr_svg_file(url).decode()}

    @extend_schema_field(SurveyVersionDetailOutput(allow_null=True))
    def get_live_version(self, survey):
        version = survey.current_version
        return SurveyVersionDetailOutput(version).data if version is not None else None

    @extend_schema_field(SurveyVersionDetailOutput(allow_null=True))
    def get_draft(self, survey):
        draft = selectors.draft_of(survey)
        return SurveyVersionDetailOutput(draft).data if draft is not None else None


# --- input ----------------------------------------------------------------------------------------------

TOUCHPOINT_FIELD = dict(slug_field="uuid", queryset=Touchpoint.objects, allow_null=True, required=False)
STAGE_FIELD = dict(slug_field="uuid", queryset=Stage.objects, allow_null=True, required=False)
SEGMENT_FIELD = dict(slug_field="uuid", queryset=Segment.objects, allow_null=True, required=False,
                     help_text="Recurring surveys: only contacts of clients in this segment (null: all).")


class SettingsInput(serializers.Serializer):
    """The survey settings both POST and PATCH take (all optional)."""

    touchpoint = serializers.SlugRelatedField(**TOUCHPOINT_FIELD)
    stage = serializers.SlugRelatedField(**STAGE_FIELD)
    opens_at = serializers.DateTimeField(required=False, allow_null=True)
    closes_at = serializers.DateTimeField(required=False, allow_null=True)
    trigger = serializers.ChoiceField(choices=Survey.Trigger.choices, required=False)
    trigger_delay_minutes = serializers.IntegerField(min_value=0, max_value=60 * 24 * 30, required=False)
    recurring_months = serializers.IntegerField(min_value=1, max_value=36, required=False, allow_null=True)
    recurring_segment = serializers.SlugRelatedField(**SEGMENT_FIELD)
    reminder_count = serializers.IntegerField(min_value=0, max_value=3, required=False)
    reminder_interval_days = serializers.IntegerField(min_value=1, max_value=30, required=False)
    invitation_valid_days = serializers.IntegerField(min_value=1, max_value=180, required=False)
    web_link_enabled = serializers.BooleanField(required=False)


def _languages_field(**kwargs):
    return serializers.ListField(child=serializers.ChoiceField(choices=LANGUAGE_CHOICES), min_length=1, **kwargs)


class SurveyChildApi(TenantGenericApi):
    """A route under surveys/<survey_uuid>/: the survey is resolved in the tenant before anything else."""

    def get_survey(self) -> Survey:
        if not hasattr(self, "_survey"):
            self._survey = get_object_or_404(selectors.survey_detail(), uuid=self.kwargs["survey_uuid"])
        return self._survey


def _detail(survey: Survey) -> dict:
    return SurveyDetailOutput(selectors.survey_list().get(pk=survey.pk)).data


# --- surveys --------------------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List surveys"), post=extend_schema(summary="Create a survey from a kind's template"))
class SurveyListApi(mixins.ListModelMixin, TenantGenericApi):
    """Surveys with their live version and response counts. POST creates a survey and its draft v1
    from the kind's standard template, worded in each language with the workspace's name."""

    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = SurveyOutput
    queryset_model = Survey
    filterset_class = SurveyFilter

    class Input(SettingsInput):
        name = serializers.CharField(max_length=120)
        kind = serializers.ChoiceField(choices=SurveyKind.choices)
        languages = _languages_field(help_text="Languages offered (at least one), e.g. [\"en\", \"fr\"].")
        default_language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False,
                                                   help_text="Default: the first of `languages`.")
        include_follow_up = serializers.BooleanField(required=False, default=True,
                                                     help_text="Add the optional “What is the main reason for your score?”.")

    def get_tenant_queryset(self):
        return selectors.survey_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: SurveyDetailOutput},
                   examples=[OpenApiExample("NPS after a visit, English and French", request_only=True,
                                            value={"name": "After-visit NPS", "kind": "nps", "languages": ["en", "fr"],
                                                   "default_language": "en", "touchpoint": EXAMPLE_UUID,
                                                   "trigger": "after_interaction", "trigger_delay_minutes": 120})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("default_language", values["languages"][0])
        survey = services.survey_create(tenant=request.tenant, acting_user=request.user, **values)
        return Response(_detail(survey), status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a survey with its live version and draft"),
                    patch=extend_schema(summary="Change a survey's settings"),
                    delete=extend_schema(summary="Delete a survey that never got a response"))
class SurveyDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = SurveyDetailOutput
    queryset_model = Survey

    class Input(SettingsInput):
        name = serializers.CharField(max_length=120, required=False)
        languages = _languages_field(required=False, help_text="A language added gets the standard wording in the draft.")
        default_language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)
        email_texts = serializers.JSONField(required=False, help_text=EMAIL_TEXTS_HELP)

    def get_tenant_queryset(self):
        return selectors.survey_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=SurveyDetailOutput,
                   examples=[OpenApiExample("Send two hours after the interaction", request_only=True,
                                            value={"trigger": "after_interaction", "trigger_delay_minutes": 120, "reminder_count": 1}),
                             OpenApiExample("Add German", value={"languages": ["en", "fr", "de"]}, request_only=True),
                             OpenApiExample("The invitation e-mail's words in English", request_only=True, value={"email_texts": {"en": {
                                 "subject": "{{contact.first_name|Hello}}, how was your visit?",
                                 "intro": "<p>Thank you for visiting <b>{{touchpoint.name}}</b>. One question, one click.</p>",
                                 "button": "Answer now"}}})])
    def patch(self, request, *args, **kwargs):
        survey = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        email_texts = fields.pop("email_texts", None)
        with transaction.atomic():
            if fields:
                survey = services.survey_update(tenant=request.tenant, acting_user=request.user, survey=survey, **fields)
            if email_texts is not None:
                survey_email_texts_update(tenant=request.tenant, acting_user=request.user, survey=survey, texts=email_texts)
        return Response(_detail(survey))

    @extend_schema(responses={204: None, 409: OpenApiResponse(OpenApiTypes.OBJECT, description="`survey_has_responses`")})
    def delete(self, request, *args, **kwargs):
        survey = self.get_object()
        if selectors.survey_has_responses(survey):
            raise SurveyHasResponses()
        services.survey_delete(tenant=request.tenant, acting_user=request.user, survey=survey)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _status_api(service, summary: str, doc: str):
    @extend_schema_view(post=extend_schema(summary=summary, description=doc, request=None, responses=SurveyOutput))
    class StatusApi(TenantGenericApi):
        read_roles = LEADS
        serializer_class = SurveyOutput
        queryset_model = Survey

        def get_tenant_queryset(self):
            return selectors.survey_list()

        def post(self, request, *args, **kwargs):
            survey = service(tenant=request.tenant, acting_user=request.user, survey=self.get_object())
            return Response(SurveyOutput(selectors.survey_list().get(pk=survey.pk)).data)

    return StatusApi


SurveyPauseApi = _status_api(services.survey_pause, "Pause a live survey", "No invitations go out and links take no answers.")
SurveyResumeApi = _status_api(services.survey_resume, "Resume a paused or closed survey", "It goes live again.")
SurveyCloseApi = _status_api(services.survey_close, "Close a survey", "It stops taking answers; its responses stay.")
SurveyPauseApi.__name__ = SurveyPauseApi.__qualname__ = "SurveyPauseApi"
SurveyResumeApi.__name__ = SurveyResumeApi.__qualname__ = "SurveyResumeApi"
SurveyCloseApi.__name__ = SurveyCloseApi.__qualname__ = "SurveyCloseApi"


@extend_schema_view(post=extend_schema(summary="Publish the survey's draft as a new immutable version"))
class SurveyPublishApi(TenantGenericApi):
    """Validates the draft (at least one question; in every language the survey offers, the title,
    every question's text and every option label) and changes nothing when something is missing:
    400 with the messages per language in `fields`."""

    read_roles = LEADS
    serializer_class = SurveyVersionDetailOutput
    queryset_model = Survey

    def get_tenant_queryset(self):
        return selectors.survey_detail()

    @extend_schema(request=None, responses={201: SurveyVersionDetailOutput})
    def post(self, request, *args, **kwargs):
        version = services.survey_publish(tenant=request.tenant, acting_user=request.user, survey=self.get_object())
        return Response(SurveyVersionDetailOutput(version).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="List a survey's versions"))
class SurveyVersionListApi(mixins.ListModelMixin, SurveyChildApi):
    read_roles = EVERYONE
    serializer_class = SurveyVersionOutput
    queryset_model = SurveyVersion

    def get_tenant_queryset(self):
        return (SurveyVersion.objects.filter(survey__uuid=self.kwargs.get("survey_uuid"))
                .select_related("published_by").order_by("-number"))

    def get(self, request, *args, **kwargs):
        survey = self.get_survey()
        queryset = self.paginate_queryset(selectors.version_list(survey).select_related(None).select_related("published_by"))
        return self.get_paginated_response(SurveyVersionOutput(queryset, many=True).data)


# --- questions (of the draft) ---------------------------------------------------------------------------

class SurveyQuestionInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=QuestionType.choices)
    key = serializers.SlugField(max_length=40, required=False, allow_blank=True,
                                help_text="Stable across versions (reports follow it). Default: chosen from the type.")
    text = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="Per language: {\"en\": \"…\"}.")
    options = serializers.JSONField(required=False, help_text="Scale labels {\"min_label\", \"max_label\"} or {\"labels\": "
                                    "{lang: [...]}}, rating {\"min\", \"max\"}, or choices [{\"value\", \"label\": {lang: …}}]. "
                                    "Default: the standard labels of the type.")
    required = serializers.BooleanField(required=False, default=True)
    order = serializers.IntegerField(min_value=1, required=False, help_text="1-based position (default: last).")
    new_page = serializers.BooleanField(required=False, help_text="It starts a new page.")
    show_if = serializers.JSONField(required=False, help_text=SHOW_IF_HELP + " Checked against the version on publish.")


CHOICE_EXAMPLE = {"type": "single_choice", "key": "topic", "required": False,
                  "text": {"en": "What was your visit about?", "fr": "Quel était l'objet de votre visite ?"},
                  "options": [{"value": "advice", "label": {"en": "Advice", "fr": "Conseil"}},
                              {"value": "billing", "label": {"en": "Billing", "fr": "Facturation"}}]}


def _current_questions(survey: Survey):
    """The questions being edited: the draft's, or the live version's while there is no draft."""
    version = selectors.draft_of(survey) or survey.current_version
    return Question.objects.filter(version=version).select_related("version").order_by("order", "id")


@extend_schema_view(get=extend_schema(summary="List the questions being edited (the draft's, else the live version's)"),
                    post=extend_schema(summary="Add a question to the survey's draft"))
class QuestionListApi(mixins.ListModelMixin, SurveyChildApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = SurveyQuestionOutput
    queryset_model = Question
    Input = SurveyQuestionInput

    def get_tenant_queryset(self):
        return Question.objects.filter(version__survey__uuid=self.kwargs.get("survey_uuid")).select_related("version")

    def get(self, request, *args, **kwargs):
        questions = _current_questions(self.get_survey())
        pages = logic.page_numbers(list(questions))
        queryset = self.paginate_queryset(questions)
        return self.get_paginated_response(SurveyQuestionOutput(queryset, many=True, context={"pages": pages}).data)

    @extend_schema(request=SurveyQuestionInput, responses={201: SurveyQuestionOutput},
                   examples=[OpenApiExample("A single-choice question in two languages", value=CHOICE_EXAMPLE, request_only=True),
                             OpenApiExample("A 1–10 rating", request_only=True,
                                            value={"type": "rating", "text": {"en": "Rate the waiting time"}, "options": {"min": 1, "max": 10}})])
    def post(self, request, *args, **kwargs):
        survey = self.get_survey()
        data = SurveyQuestionInput(data=request.data)
        data.is_valid(raise_exception=True)
        question = services.question_create(tenant=request.tenant, acting_user=request.user, survey=survey, **data.validated_data)
        return Response(SurveyQuestionOutput(question).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a question (of any version)"),
                    patch=extend_schema(summary="Change a draft question"),
                    delete=extend_schema(summary="Delete a draft question"))
class QuestionDetailApi(mixins.RetrieveModelMixin, SurveyChildApi):
    read_roles = EVERYONE
    write_roles = LEADS
    serializer_class = SurveyQuestionOutput
    queryset_model = Question

    class Input(SurveyQuestionInput):
        type = serializers.ChoiceField(choices=QuestionType.choices, required=False)
        text = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
        required = serializers.BooleanField(required=False)

    def get_tenant_queryset(self):
        return Question.objects.filter(version__survey__uuid=self.kwargs.get("survey_uuid")).select_related("version__survey")

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    def _draft_question(self) -> Question:
        question = self.get_object()
        if question.version.published_at is not None:
            raise VersionPublished()
        return question

    @extend_schema(request=Input, responses={200: SurveyQuestionOutput, 409: VERSION_PUBLISHED_RESPONSE},
                   examples=[OpenApiExample("Reword in French", request_only=True,
                                            value={"text": {"en": "What is the main reason for your score?",
                                                            "fr": "Quelle est la principale raison de votre note ?"}}),
                             OpenApiExample("Move to the top and make optional", value={"order": 1, "required": False}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        question = self._draft_question()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            question = services.question_update(tenant=request.tenant, acting_user=request.user, question=question, **data.validated_data)
        except PublishedVersionIsImmutable:
            raise VersionPublished() from None
        return Response(SurveyQuestionOutput(question).data)

    @extend_schema(responses={204: None, 409: VERSION_PUBLISHED_RESPONSE})
    def delete(self, request, *args, **kwargs):
        question = self._draft_question()
        try:
            services.question_delete(tenant=request.tenant, acting_user=request.user, question=question)
        except PublishedVersionIsImmutable:
            raise VersionPublished() from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- endings (of the draft) -----------------------------------------------------------------------------

class EndingsInput(serializers.Serializer):
    endings = serializers.JSONField(help_text=ENDINGS_HELP)


class EndingsOutput(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version these endings belong to (the draft's number after a PUT).")
    is_published = serializers.BooleanField()
    endings = serializers.JSONField(help_text=ENDINGS_HELP)


def _endings_data(version) -> dict:
    return {"version": version.number if version else None, "is_published": bool(version and version.is_published),
            "endings": (version.endings if version else []) or []}


@extend_schema_view(get=extend_schema(summary="Read the endings being edited (the draft's, else the live version's)"),
                    put=extend_schema(summary="Replace the draft's endings"))
class SurveyEndingsApi(SurveyChildApi):
    """The endings per branch of the version being edited. A PUT replaces the draft's list (creating the draft if
    need be); what their rules read is checked on publish (400 there, with the message)."""

    read_roles = EVERYONE
    write_roles = LEADS
    queryset_model = Survey

    @extend_schema(responses=EndingsOutput)
    def get(self, request, *args, **kwargs):
        survey = self.get_survey()
        return Response(EndingsOutput(_endings_data(selectors.draft_of(survey) or survey.current_version)).data)

    @extend_schema(request=EndingsInput, responses=EndingsOutput,
                   examples=[OpenApiExample("Detractors get their own message", request_only=True, value={"endings": [
                       {"key": "detractors", "when": {"match": "all", "rules": [{"question": "nps", "op": "between", "min": 0, "max": 6}]},
                        "texts": {"en": {"title": "We are sorry", "thanks": "Someone from our team will call you within two days."}}}]})])
    def put(self, request, *args, **kwargs):
        survey = self.get_survey()  # another workspace's survey is a 404 before any input is read
        data = EndingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_endings_update(tenant=request.tenant, acting_user=request.user, survey=survey,
                                                  endings=data.validated_data["endings"])
        return Response(EndingsOutput(_endings_data(version)).data)
