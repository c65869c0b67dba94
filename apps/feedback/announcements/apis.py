""""You said, we did" messages over the API (issue 20 item 7): list, draft one from a resolved case or an action plan
(prefilled as on the page; given texts replace the prefill), read one with its audience (who will get it, who is
skipped and why), change a draft's texts, send it (once: a second send e-mails nobody again). Admins and CX leads
write; viewers read — as on the pages."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.feedback.announcements import services
from apps.feedback.models import ActionPlan, Announcement, Case
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import LEADS
from apps.tenancy.roles import READERS


class AnnouncementOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    case = serializers.UUIDField(source="case.uuid", read_only=True, allow_null=True, default=None)
    plan = serializers.UUIDField(source="plan.uuid", read_only=True, allow_null=True, default=None)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    sent_by = serializers.EmailField(source="sent_by.user.email", read_only=True, allow_null=True, default=None)
    audience = serializers.SerializerMethodField(
        help_text="A draft's recipients as of now: how many get it, how many are skipped per reason, anonymous answers "
                  "nobody can be written to (null in the list, and once sent: see recipients_count and skipped_count).")

    class Meta:
        model = Announcement
        fields = ["id", "case", "plan", "subject", "you_said", "we_did", "status", "status_label", "sent_at", "sent_by",
                  "recipients_count", "skipped_count", "audience", "created_at", "updated_at"]

    def get_audience(self, announcement) -> dict | None:
        if announcement.status != Announcement.Status.DRAFT or not self.context.get("with_audience"):
            return None
        plan = services.recipients_for(self.context["request"].tenant, announcement)
        return {"to_send": len(plan.to_send), "skipped": dict(plan.skipped_by_reason), "anonymous": plan.anonymous}


class DraftInput(serializers.Serializer):
    case = serializers.SlugRelatedField(slug_field="uuid", queryset=Case.objects, required=False, allow_null=True,
                                        help_text="The case whose respondents are told (give a case or a plan).")
    plan = serializers.SlugRelatedField(slug_field="uuid", queryset=ActionPlan.objects, required=False, allow_null=True,
                                        help_text="The action plan whose affected respondents are told.")
    subject = serializers.CharField(required=False, max_length=200, help_text="Default: prefilled from the case or plan.")
    you_said = serializers.CharField(required=False, help_text="Default: prefilled from the case or plan.")
    we_did = serializers.CharField(required=False, help_text="Default: prefilled from the case or plan.")

    def validate(self, data):
        if bool(data.get("case")) == bool(data.get("plan")):
            raise serializers.ValidationError({"case": "Give a case or an action plan (one of them)."})
        return data


class TextsInput(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    you_said = serializers.CharField()
    we_did = serializers.CharField()


class AnnouncementFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Announcement.Status.choices)
    case = django_filters.ModelChoiceFilter(field_name="case", to_field_name="uuid", queryset=Case.objects)
    plan = django_filters.ModelChoiceFilter(field_name="plan", to_field_name="uuid", queryset=ActionPlan.objects)

    class Meta:
        model = Announcement
        fields = ["status", "case", "plan"]


class _AnnouncementApi(TenantGenericApi):
    read_roles = READERS
    write_roles = LEADS
    serializer_class = AnnouncementOutput
    queryset_model = Announcement

    def get_tenant_queryset(self):
        return Announcement.objects.select_related("case", "plan", "sent_by__user").order_by("-created_at", "-id")

    def _out(self, announcement, code=status.HTTP_200_OK):
        announcement = self.get_tenant_queryset().get(pk=announcement.pk)
        return Response(AnnouncementOutput(announcement, context={"request": self.request, "with_audience": True}).data, status=code)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(
    get=extend_schema(summary="List “you said, we did” messages"),
    post=extend_schema(summary="Draft a “you said, we did” message", request=DraftInput, responses={201: AnnouncementOutput},
                       examples=[OpenApiExample("From a resolved case, prefilled", request_only=True,
                                                value={"case": "7d3c1f0e-2b4a-4c8e-9f1d-5a6b7c8d9e0f"}),
                                 OpenApiExample("From an action plan, with our own subject", request_only=True,
                                                value={"plan": "2c9a8b7d-6e5f-4a3b-9c1d-0e2f4a6b8c0d",
                                                       "subject": "You told us invoices were late: they now arrive on the 1st"})]))
class AnnouncementListApi(mixins.ListModelMixin, _AnnouncementApi):
    """Newest first; filter by `status`, `case`, `plan`. POST drafts one (201); send it with `…/send/`."""

    filterset_class = AnnouncementFilter

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        data = self._input(DraftInput)
        texts = {name: data[name] for name in ("subject", "you_said", "we_did") if name in data}
        member = request.tenant_access.membership
        if data.get("case"):
            announcement = services.announcement_draft_for_case(tenant=request.tenant, acting_member=member, case=data["case"], **texts)
        else:
            announcement = services.announcement_draft_for_plan(tenant=request.tenant, acting_member=member, plan=data["plan"], **texts)
        return self._out(announcement, status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Read a “you said, we did” message with its audience"),
    put=extend_schema(summary="Change a draft's texts", request=TextsInput, examples=[OpenApiExample(
        "Reworded", request_only=True, value={"subject": "You asked for faster answers", "you_said": "Replies took days.",
                                              "we_did": "A second person now answers the help desk every morning."})]))
class AnnouncementDetailApi(mixins.RetrieveModelMixin, _AnnouncementApi):
    """A draft shows who will get it and who is skipped and why; a sent message cannot change (400)."""

    def get(self, request, *args, **kwargs):
        return self._out(self.get_object())

    def put(self, request, *args, **kwargs):
        announcement = self.get_object()
        data = self._input(TextsInput)
        announcement = services.announcement_update(tenant=request.tenant, acting_member=request.tenant_access.membership,
                                                    announcement=announcement, **data)
        return self._out(announcement)


@extend_schema_view(post=extend_schema(summary="Send a “you said, we did” message", request=None))
class AnnouncementSendApi(_AnnouncementApi):
    """E-mails every recipient who is not skipped (opted out, no e-mail, churned) through the outbox. Sending again
    changes nothing and e-mails nobody again."""

    def post(self, request, *args, **kwargs):
        announcement = services.announcement_send(tenant=request.tenant, acting_member=request.tenant_access.membership,
                                                  announcement=self.get_object())
        return self._out(announcement)
