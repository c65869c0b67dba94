"""Distribution API: send a survey (`surveys/<id>/distribute/`) and read invitations — the send log
(`survey-invitations/`; `invitations/` is the member invitations' resource). CX leads and admins.
Tokens never leave the server: an invitation shows its status and, when skipped, why."""

from __future__ import annotations

import uuid

import django_filters
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.clients.models import Client, Contact, Segment
from apps.surveys.distribution.manual import manual_dedupe_prefix, manual_send_audience, manual_send_cancel, manual_send_start
from apps.surveys.distribution.selectors import invitation_list
from apps.surveys.distribution.services import test_email_send
from apps.surveys.models import Invitation, ManualSend, Survey
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import LEADS


class SurveyInvitationOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    survey = serializers.UUIDField(source="survey.uuid", read_only=True)
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True, allow_null=True, default=None,
                                       help_text="The survey version number the contact answers.")
    contact = serializers.UUIDField(source="contact.uuid", read_only=True, allow_null=True, default=None)
    contact_name = serializers.CharField(source="contact.name", read_only=True, allow_null=True, default=None)
    client = serializers.UUIDField(source="client.uuid", read_only=True, allow_null=True, default=None)
    client_name = serializers.CharField(source="client.name", read_only=True, allow_null=True, default=None)
    interaction = serializers.UUIDField(source="interaction.uuid", read_only=True, allow_null=True, default=None,
                                        help_text="The interaction that triggered it (after-interaction surveys).")
    channel = serializers.CharField(read_only=True, help_text="How it is sent: email.")
    skip_reason_label = serializers.CharField(source="get_skip_reason_display", read_only=True,
                                              help_text="Why it was not sent, in words (empty unless skipped).")

    class Meta:
        model = Invitation
        fields = ["id", "survey", "survey_name", "version", "contact", "contact_name", "client", "client_name", "interaction",
                  "source", "channel", "language", "email", "status", "skip_reason", "skip_reason_label", "send_after",
                  "sent_at", "opened_at", "responded_at", "expires_at", "reminders_sent", "last_reminder_at", "created_at"]


class InvitationFilter(django_filters.FilterSet):
    survey = django_filters.ModelChoiceFilter(field_name="survey", to_field_name="uuid", queryset=Survey.objects)
    contact = django_filters.ModelChoiceFilter(field_name="contact", to_field_name="uuid", queryset=Contact.objects)
    client = django_filters.ModelChoiceFilter(field_name="client", to_field_name="uuid", queryset=Client.objects)
    status = django_filters.ChoiceFilter(choices=Invitation.Status.choices)
    skip_reason = django_filters.ChoiceFilter(choices=Invitation.SkipReason.choices)
    batch = django_filters.UUIDFilter(method="filter_batch", label="The invitations of one manual send (its batch id).")

    class Meta:
        model = Invitation
        fields = ["survey", "contact", "client", "status", "skip_reason", "batch"]

    def filter_batch(self, queryset, name, value):
        return queryset.filter(dedupe_key__startswith=manual_dedupe_prefix(value))


@extend_schema_view(get=extend_schema(summary="List survey invitations (the send log)"))
class SurveyInvitationListApi(mixins.ListModelMixin, TenantGenericApi):
    """Invitations newest first; filters: survey, contact, client, status, skip_reason, batch (a manual send)."""

    read_roles = LEADS
    serializer_class = SurveyInvitationOutput
    queryset_model = Invitation
    filterset_class = InvitationFilter

    def get_tenant_queryset(self):
        return invitation_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@extend_schema_view(get=extend_schema(summary="Read a survey invitation"))
class SurveyInvitationDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = LEADS
    serializer_class = SurveyInvitationOutput
    queryset_model = Invitation

    def get_tenant_queryset(self):
        return invitation_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


class ManualSendOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    survey = serializers.UUIDField(source="survey.uuid", read_only=True)
    replayed = serializers.SerializerMethodField(help_text="true: this batch was sent before and nothing new was made.")
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    total = serializers.IntegerField(read_only=True, help_text="Contacts to invite (segment and chosen, each once).")
    done = serializers.IntegerField(read_only=True, help_text="Contacts handled so far (queued or skipped).")
    queued = serializers.IntegerField(read_only=True, help_text="Invitations queued for sending so far.")
    skipped = serializers.DictField(child=serializers.IntegerField(), read_only=True,
                                    help_text="Invitations not sent, per skip reason, so far.")
    progress = serializers.SerializerMethodField(help_text="This send's progress: poll it until `status` is done.")
    invitations = serializers.SerializerMethodField(help_text="Its invitations (the send log, filtered to this batch).")

    class Meta:
        model = ManualSend
        fields = ["id", "batch", "survey", "replayed", "status", "status_label", "scheduled_for", "total", "done", "queued", "skipped",
                  "error_message", "created_at", "started_at", "finished_at", "progress", "invitations"]

    def get_replayed(self, send) -> bool:
        return bool(self.context.get("replayed"))

    def _url(self, name, **kwargs) -> str:
        return self.context["request"].build_absolute_uri(reverse(name, kwargs={"tenant_slug": self.context["request"].tenant.slug,
                                                                                **kwargs}))

    def get_progress(self, send) -> str:
        return self._url("survey-send-detail", uuid=send.uuid)

    def get_invitations(self, send) -> str:
        return self._url("survey-invitation-list") + f"?survey={send.survey.uuid}&batch={send.batch}"


class AudienceInput(serializers.Serializer):
    segment = serializers.SlugRelatedField(slug_field="uuid", queryset=Segment.objects, required=False, allow_null=True,
                                           help_text="Every contact of this segment's clients.")
    contacts = serializers.SlugRelatedField(slug_field="uuid", queryset=Contact.objects, many=True, required=False,
                                            help_text="Contact ids to invite (with or without a segment).")

    def validate(self, data):
        if data.get("segment") is None and not data.get("contacts"):
            raise serializers.ValidationError({"contacts": ["Give a segment or at least one contact."]})
        return data


class AudienceOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Contacts of the segment and the list, each once.")
    invited = serializers.IntegerField(help_text="Those who would get an invitation now.")
    skipped = serializers.DictField(child=serializers.IntegerField(), help_text="Those who would not, per skip reason.")


@extend_schema_view(post=extend_schema(summary="Count who a send would invite, and who it would skip and why"))
class SurveyAudienceApi(TenantGenericApi):
    """What sending to this segment and/or these contacts now would do — the distribution rules themselves, nothing
    is sent or recorded (the send page shows the same before its confirm button)."""

    read_roles = LEADS
    write_roles = LEADS
    queryset_model = Survey
    serializer_class = AudienceOutput

    def get_tenant_queryset(self):
        return Survey.objects.select_related("current_version")

    @extend_schema(request=AudienceInput, responses=AudienceOutput,
                   examples=[OpenApiExample("A segment and two more contacts", request_only=True, value={
                       "segment": "3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a098",
                       "contacts": ["1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a", "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"]})])
    def post(self, request, *args, **kwargs):
        survey = self.get_object()
        data = AudienceInput(data=request.data)
        data.is_valid(raise_exception=True)
        audience = manual_send_audience(tenant=request.tenant, survey=survey, segment=data.validated_data.get("segment"),
                                        contacts=data.validated_data.get("contacts") or [])
        return Response(AudienceOutput({"total": audience.total, "invited": audience.invited, "skipped": audience.skipped}).data)


@extend_schema_view(post=extend_schema(summary="Send a survey to a segment or to contacts, now or later"))
class SurveyDistributeApi(TenantGenericApi):
    """Invite every contact of a segment and/or the listed contacts, now or at `scheduled_for`. The send runs in the
    background: the answer (202) says how many contacts it will invite, and `progress` is where to follow it. Each
    contact gets one personal link; the rules (opt-out, no e-mail, churned client, fatigue, an open
    invitation) skip some, each with its reason (`audience/` counts them first). Give a `batch` id (or an
    `Idempotency-Key` header) to retry without sending twice. A scheduled send can be cancelled until it starts."""

    read_roles = LEADS
    write_roles = LEADS
    queryset_model = Survey
    serializer_class = ManualSendOutput

    class Input(serializers.Serializer):
        segment = serializers.SlugRelatedField(slug_field="uuid", queryset=Segment.objects, required=False, allow_null=True,
                                               help_text="Every contact of this segment's clients.")
        contacts = serializers.SlugRelatedField(slug_field="uuid", queryset=Contact.objects, many=True, required=False,
                                                help_text="Contact ids to invite (with or without a segment).")
        batch = serializers.UUIDField(required=False, help_text="Your id for this send: the same id again sends nothing new.")
        scheduled_for = serializers.DateTimeField(required=False, allow_null=True,
                                                  help_text="Send then (ISO 8601 with its offset), within a year; empty: now.")

        def validate(self, data):
            if data.get("segment") is None and not data.get("contacts"):
                raise serializers.ValidationError({"contacts": ["Give a segment or at least one contact."]})
            return data

    def get_tenant_queryset(self):
        return Survey.objects.select_related("current_version")

    @extend_schema(
        request=Input, responses={202: ManualSendOutput, 200: ManualSendOutput},
        examples=[
            OpenApiExample("A segment", request_only=True, value={"segment": "3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a098",
                                                                  "batch": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"}),
            OpenApiExample("Chosen contacts", request_only=True, value={"contacts": ["1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
                                                                                    "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"]}),
        ],
        description="Answers 202 with the send just recorded (it runs in the background), or 200 with the first send "
                    "when the same `batch` was sent before.",
    )
    def post(self, request, *args, **kwargs):
        survey = self.get_object()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        send, replayed = manual_send_start(
            tenant=request.tenant, acting_user=request.user, survey=survey,
            batch=fields.get("batch") or uuid.uuid4(), segment=fields.get("segment"), contacts=fields.get("contacts") or [],
            acting_member=request.tenant_access.membership, scheduled_for=fields.get("scheduled_for"),
        )
        body = ManualSendOutput(send, context={"request": request, "replayed": replayed}).data
        return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_202_ACCEPTED)


@extend_schema_view(get=extend_schema(summary="Follow a manual send"))
class SurveySendDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    """How far a manual send is: contacts handled of the total, queued and skipped so far, and its status."""

    read_roles = LEADS
    serializer_class = ManualSendOutput
    queryset_model = ManualSend

    def get_tenant_queryset(self):
        return ManualSend.objects.select_related("survey")

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


@extend_schema_view(post=extend_schema(summary="Cancel a scheduled send before it starts"))
class SurveySendCancelApi(TenantGenericApi):
    """A scheduled send that has not started yet is cancelled (nothing was made); any other answers 400."""

    read_roles = LEADS
    write_roles = LEADS
    serializer_class = ManualSendOutput
    queryset_model = ManualSend

    def get_tenant_queryset(self):
        return ManualSend.objects.select_related("survey")

    @extend_schema(request=None, responses=ManualSendOutput)
    def post(self, request, *args, **kwargs):
        send = manual_send_cancel(tenant=request.tenant, acting_user=request.user, send=self.get_object())
        return Response(ManualSendOutput(send, context={"request": request}).data)


class TestEmailInput(serializers.Serializer):
    language = serializers.CharField(required=False, max_length=10, help_text="One of the survey's languages (default: its default).")
    contact = serializers.SlugRelatedField(slug_field="uuid", queryset=Contact.objects, required=False, allow_null=True,
                                           help_text="Whose name and attributes fill the greeting and the {{tokens}}.")


class TestEmailOutput(serializers.Serializer):
    to = serializers.EmailField(help_text="Your own address: the test goes to whoever asks.")
    subject = serializers.CharField()


@extend_schema_view(post=extend_schema(summary="Send the survey's e-mail to yourself as a test"))
class SurveyTestEmailApi(TenantGenericApi):
    """The invitation e-mail as a contact would get it (the draft, else the live version; the survey's own words),
    sent through the outbox to the caller's own address; its links open the preview and record nothing. An API key
    has no address of its own: 400."""

    read_roles = LEADS
    write_roles = LEADS
    queryset_model = Survey
    serializer_class = TestEmailOutput

    def get_tenant_queryset(self):
        return Survey.objects.select_related("current_version", "touchpoint")

    @extend_schema(request=TestEmailInput, responses={202: TestEmailOutput},
                   examples=[OpenApiExample("In French, as a contact gets it", request_only=True,
                                            value={"language": "fr", "contact": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"})])
    def post(self, request, *args, **kwargs):
        survey = self.get_object()
        data = TestEmailInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = test_email_send(tenant=request.tenant, acting_user=request.user, survey=survey,
                                language=data.validated_data.get("language"), contact=data.validated_data.get("contact"))
        return Response(TestEmailOutput({"to": email.to_email, "subject": email.subject}).data, status=status.HTTP_202_ACCEPTED)
