"""REST API for cases: the list (filters, overdue first), one case with its thread, a manual case, and
the actions (note, assign, start, resolve, won't fix, reopen). Visibility as on the pages (admins, CX
leads and viewers: every case; staff: their own and their team's unassigned queue — another staff
member's case is a 404). Admins, CX leads and staff write (staff on the cases they see); a staff-role
API key belongs to no member and is refused. Refusals of an action answer 400 with a stable code:
`root_cause_required`, `root_cause_archived`, `action_taken_required`, `reason_required`,
`invalid_transition`, `case_closed`, `recovery_refused`."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from apps.clients.models import Client, Contact
from apps.feedback.cases import selectors, services
from apps.feedback.models import ActionPlan, AlertRule, Case, CaseNote, RootCause
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import EVERYONE, STAFF_AND_UP, Membership, Role, Team

CASE_EXAMPLE_UUID = "7d3c1f0e-2b4a-4c8e-9f1d-5a6b7c8d9e0f"
MEMBER_EXAMPLE_UUID = "0b8e7f4d-2f55-4a3e-8c9d-1e2f3a4b5c6d"


class CaseActionError(ApiValidationError):
    """400 with a stable `code` (see the module docstring)."""

    def __init__(self, detail, code: str):
        super().__init__(detail)
        self.error_code = code


def _action_error(exc: DjangoValidationError) -> CaseActionError:
    """A service's refusal as a 400 with a stable code."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    fields = set(detail)
    code = "validation_error"
    if getattr(exc, "code", None) in ("invalid_transition", "case_closed"):
        code = exc.code
    elif "root_cause" in fields:
        code = "root_cause_archived" if any("archived" in m for m in detail["root_cause"]) else "root_cause_required"
    elif "action_taken" in fields:
        code = "action_taken_required"
    elif "reason" in fields:
        code = "reason_required"
    elif fields & {"send_recovery_survey", "recovery_survey"}:
        code = "recovery_refused"
    else:
        codes = {e.code for e in exc.error_list} if hasattr(exc, "error_list") else set()
        code = next(iter(codes & {"invalid_transition", "case_closed"}), code)
    return CaseActionError(detail, code)


# --- output -------------------------------------------------------------------------------------

class NoteOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    author = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text="A member id, or null for the system.")
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = CaseNote
        fields = ["id", "kind", "author", "author_name", "body", "created_at"]

    def get_author_name(self, note) -> str:
        if note.author is None:
            return "system"
        return note.author.user.full_name or note.author.user.email


class CaseOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    rule = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text="The alert rule that opened it, or null.")
    rule_name = serializers.CharField(source="rule.name", read_only=True, allow_null=True, default=None)
    response = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    interaction = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    client = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    client_name = serializers.CharField(source="client.name", read_only=True, allow_null=True, default=None)
    contact = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text="A member id, or null (unassigned).")
    assignee_email = serializers.EmailField(source="assignee.user.email", read_only=True, allow_null=True, default=None)
    team = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)
    root_cause = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    root_cause_name = serializers.CharField(source="root_cause.name", read_only=True, allow_null=True, default=None)
    resolved_by = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Open or in progress and past its due time.")

    class Meta:
        model = Case
        fields = ["id", "title", "description", "status", "source", "rule", "rule_name", "response", "interaction", "client",
                  "client_name", "contact", "trigger_metric", "trigger_score", "assignee", "assignee_email", "team", "team_name",
                  "opened_at", "due_at", "overdue", "escalated_at", "resolved_at", "resolved_by", "root_cause", "root_cause_name",
                  "action_taken", "created_at", "updated_at"]

    def get_overdue(self, case) -> bool:
        return case.is_overdue(self.context.get("now") or timezone.now())


class CaseDetailOutput(CaseOutput):
    notes = serializers.SerializerMethodField(help_text="The thread, oldest first: members' notes and the system's events.")
    action_plans = serializers.SerializerMethodField(help_text="Ids of the action plans this case is linked to.")

    class Meta(CaseOutput.Meta):
        fields = [*CaseOutput.Meta.fields, "notes", "action_plans"]

    def get_notes(self, case) -> list[dict]:
        notes = self.context.get("notes")
        if notes is None:
            notes = CaseNote.objects.filter(case=case).select_related("author__user").order_by("created_at", "id")
        return NoteOutput(notes, many=True).data

    def get_action_plans(self, case) -> list[str]:
        plans = self.context.get("plans")
        if plans is None:
            plans = ActionPlan.objects.filter(cases=case).order_by("due_on", "id")
        return [str(p.uuid) for p in plans]


# --- filters ------------------------------------------------------------------------------------

class CaseFilter(django_filters.FilterSet):
    """Related filters take public uuids through the tenant-scoped managers: another tenant's uuid is a 400."""

    status = django_filters.ChoiceFilter(choices=selectors.STATUS_CHOICES, method="noop",
                                         label="Status: active (open + in progress, the default), open, in_progress, "
                                               "resolved, wont_fix or all")
    mine = django_filters.BooleanFilter(method="noop", label="Only the caller's cases")
    overdue = django_filters.BooleanFilter(method="noop", label="Only overdue cases")
    unassigned = django_filters.BooleanFilter(method="noop", label="Only unassigned cases")
    assignee = django_filters.ModelChoiceFilter(queryset=Membership.objects, to_field_name="uuid", method="noop", label="Assignee: a member id")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects, to_field_name="uuid", method="noop", label="Team id")
    rule = django_filters.ModelChoiceFilter(queryset=AlertRule.objects, to_field_name="uuid", method="noop", label="Alert rule id")
    root_cause = django_filters.ModelChoiceFilter(queryset=RootCause.objects, to_field_name="uuid", method="noop", label="Root cause id")
    source = django_filters.ChoiceFilter(choices=Case.Source.choices, method="noop")
    client = django_filters.ModelChoiceFilter(queryset=Client.objects, to_field_name="uuid", method="noop", label="Client id")
    q = django_filters.CharFilter(method="noop", label="Search: title, description, client or contact contains")

    class Meta:
        model = Case
        fields = ["status", "mine", "overdue", "unassigned", "assignee", "team", "rule", "root_cause", "source", "client", "q"]

    def noop(self, queryset, name, value):
        return queryset  # the selector applies every filter at once (see case_filters)

    def case_filters(self) -> selectors.CaseFilters:
        d = self.form.cleaned_data
        return selectors.CaseFilters(status=d.get("status") or "active", mine=bool(d.get("mine")), overdue=bool(d.get("overdue")),
                                     unassigned=bool(d.get("unassigned")), assignee=d.get("assignee"), team=d.get("team"),
                                     rule=d.get("rule"), root_cause=d.get("root_cause"), source=d.get("source") or "",
                                     client=d.get("client"), q=d.get("q") or "")


# --- base ---------------------------------------------------------------------------------------

class CaseApiBase(TenantGenericApi):
    read_roles = EVERYONE
    write_roles = STAFF_AND_UP
    queryset_model = Case
    api_key_refused_roles = frozenset({Role.STAFF})  # staff see their own cases; a staff-role key is no one

    def check_permissions(self, request):
        super().check_permissions(request)
        access = request.tenant_access
        if access.role == Role.STAFF and access.membership is None:
            self.permission_denied(request, message="A staff-role API key belongs to no staff member, so it sees no case.")

    @property
    def acting_member(self):
        return self.request.tenant_access.membership

    def get_tenant_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation: no tenant, no member
            return Case.objects.none()
        return selectors.case_list(tenant=self.request.tenant, acting_member=self.acting_member, role=self.request.tenant_access.role,
                                   filters=selectors.CaseFilters(status="all"))

    def case_to_work(self) -> Case:
        case = self.get_object()
        if not selectors.can_work(case, acting_member=self.acting_member, role=self.request.tenant_access.role):
            raise PermissionDenied("You cannot work this case.")
        return case

    def detail_response(self, case: Case, status_code=status.HTTP_200_OK) -> Response:
        detail = selectors.case_get(tenant=self.request.tenant, acting_member=self.acting_member, uuid=case.uuid,
                                     role=self.request.tenant_access.role)
        if detail is None:  # e.g. staff assigned the case away: it is no longer theirs to read
            return Response(CaseOutput(case).data, status=status_code)
        context = {"notes": detail.notes, "plans": detail.plans}
        return Response(CaseDetailOutput(detail.case, context=context).data, status=status_code)

    def act(self, fn):
        try:
            return fn()
        except DjangoValidationError as exc:
            raise _action_error(exc) from exc


ERRORS_400 = OpenApiResponse(description="Refused, with a stable `code`: `root_cause_required`, `root_cause_archived`, "
                                         "`action_taken_required`, `reason_required`, `invalid_transition`, `case_closed`, "
                                         "`recovery_refused`, or `validation_error` (see `fields`).")


# --- list and create ----------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(summary="List cases",
                                      description="The cases the caller may see, open and in progress by default (`status`), "
                                                  "overdue first then by due time."))
class CaseListApi(mixins.ListModelMixin, CaseApiBase):
    serializer_class = CaseOutput
    filterset_class = CaseFilter

    class Input(serializers.Serializer):
        client = serializers.SlugRelatedField(slug_field="uuid", queryset=Client.objects, help_text="Client id.")
        contact = serializers.SlugRelatedField(slug_field="uuid", queryset=Contact.objects, allow_null=True, required=False,
                                               help_text="A contact of this client, or null.")
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        assignee = serializers.SlugRelatedField(slug_field="uuid", queryset=Membership.objects, allow_null=True, required=False,
                                                help_text="A member id (admin, CX lead or staff), or null for the team's queue.")
        team = serializers.SlugRelatedField(slug_field="uuid", queryset=Team.objects, allow_null=True, required=False)
        sla_hours = serializers.IntegerField(min_value=1, max_value=24 * 90, default=48, help_text="Due this many hours from now.")

        def validate(self, data):
            contact, client = data.get("contact"), data.get("client")
            if contact is not None and client is not None and contact.client_id != client.pk:
                raise serializers.ValidationError({"contact": "Choose a contact of this client."})
            return data

    def filter_queryset(self, queryset):
        fs = CaseFilter(self.request.query_params, queryset=queryset, request=self.request)
        if not fs.is_valid():
            raise ApiValidationError(fs.errors)
        return selectors.case_list(tenant=self.request.tenant, acting_member=self.acting_member, role=self.request.tenant_access.role,
                                   filters=fs.case_filters())

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(summary="Open a case by hand", request=Input, responses={201: CaseDetailOutput, 400: ERRORS_400},
                   examples=[OpenApiExample("A manual case", request_only=True,
                                            value={"client": "3d9a1c7e-5b2f-4f0a-8e6d-7c1b2a3f4e5d", "title": "Invoice dispute",
                                                   "description": "Called twice about the March invoice.",
                                                   "assignee": MEMBER_EXAMPLE_UUID, "sla_hours": 24})])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        case, _ = self.act(lambda: services.case_open(
            tenant=request.tenant, source=Case.Source.CLIENT, title=d["title"], acting_member=self.acting_member, client=d["client"],
            contact=d.get("contact"), description=d.get("description", ""), assignee=d.get("assignee"), team=d.get("team"),
            sla_hours=d["sla_hours"]))
        return self.detail_response(case, status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a case", description="With its thread (notes and events) and linked plans."))
class CaseDetailApi(CaseApiBase):
    serializer_class = CaseDetailOutput

    def get(self, request, *args, **kwargs):
        return self.detail_response(self.get_object())


# --- actions ------------------------------------------------------------------------------------

class CaseNoteApi(CaseApiBase):
    serializer_class = NoteOutput

    class Input(serializers.Serializer):
        body = serializers.CharField(max_length=10_000)

    @extend_schema(summary="Add a note to a case", request=Input, responses={201: NoteOutput, 400: ERRORS_400},
                   examples=[OpenApiExample("A note", value={"body": "Called the client; they will send the invoice."},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        case = self.case_to_work()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        note = self.act(lambda: services.case_note_add(tenant=request.tenant, acting_member=self.acting_member, case=case,
                                                       body=data.validated_data["body"]))
        return Response(NoteOutput(note).data, status=status.HTTP_201_CREATED)


class CaseAssignApi(CaseApiBase):
    serializer_class = CaseDetailOutput

    class Input(serializers.Serializer):
        assignee = serializers.SlugRelatedField(slug_field="uuid", queryset=Membership.objects, allow_null=True, required=False,
                                                help_text="A member id, or null (unassigned: the team's queue).")
        team = serializers.SlugRelatedField(slug_field="uuid", queryset=Team.objects, allow_null=True, required=False)

    @extend_schema(summary="Assign a case", request=Input, responses={200: CaseDetailOutput, 400: ERRORS_400},
                   examples=[OpenApiExample("To a member", value={"assignee": MEMBER_EXAMPLE_UUID}, request_only=True),
                             OpenApiExample("To a team's queue", value={"assignee": None, "team": "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c"},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        case = self.case_to_work()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        case = self.act(lambda: services.case_assign(tenant=request.tenant, acting_member=self.acting_member, case=case,
                                                     assignee=d.get("assignee"), team=d.get("team", case.team)))
        return self.detail_response(case)


class CaseStartApi(CaseApiBase):
    serializer_class = CaseDetailOutput

    @extend_schema(summary="Start working on a case", description="Open → in progress; an unassigned case is taken by the caller.",
                   request=None, responses={200: CaseDetailOutput, 400: ERRORS_400})
    def post(self, request, *args, **kwargs):
        case = self.case_to_work()
        case = self.act(lambda: services.case_start(tenant=request.tenant, acting_member=self.acting_member, case=case))
        return self.detail_response(case)


class CaseResolveApi(CaseApiBase):
    serializer_class = CaseDetailOutput

    class Input(serializers.Serializer):
        root_cause = serializers.SlugRelatedField(slug_field="uuid", queryset=RootCause.objects, allow_null=True, required=False,
                                                  help_text="Required: an active root cause id (see root-causes/).")
        action_taken = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required: what was done.")
        send_recovery_survey = serializers.BooleanField(required=False, default=False,
                                                        help_text="Send the rule's recovery survey to the case's contact.")

    @extend_schema(summary="Resolve a case",
                   description="Requires an active root cause of the workspace and the action taken (400 `root_cause_required`, "
                               "`root_cause_archived`, `action_taken_required`); nothing changes otherwise. With "
                               "`send_recovery_survey`, a contact who cannot be surveyed refuses it (400 `recovery_refused`).",
                   request=Input, responses={200: CaseDetailOutput, 400: ERRORS_400},
                   examples=[OpenApiExample("Resolve and ask again", request_only=True,
                                            value={"root_cause": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                                                   "action_taken": "Refunded the late fee and apologised.", "send_recovery_survey": True})])
    def post(self, request, *args, **kwargs):
        case = self.case_to_work()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        if d.get("root_cause") is None:
            raise CaseActionError({"root_cause": ["Choose the root cause: a case is resolved only with one."]}, "root_cause_required")
        if not d["action_taken"].strip():
            raise CaseActionError({"action_taken": ["Say what was done."]}, "action_taken_required")
        case = self.act(lambda: services.case_resolve(
            tenant=request.tenant, acting_member=self.acting_member, case=case, root_cause=d["root_cause"], action_taken=d["action_taken"],
            send_recovery_survey=d["send_recovery_survey"]))
        return self.detail_response(case)


class CaseWontFixApi(CaseApiBase):
    serializer_class = CaseDetailOutput

    class Input(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required: why nothing will be done.")

    @extend_schema(summary="Close a case as won't fix", request=Input, responses={200: CaseDetailOutput, 400: ERRORS_400},
                   examples=[OpenApiExample("Out of scope", value={"reason": "The client asked for a feature we do not offer."},
                                            request_only=True)])
    def post(self, request, *args, **kwargs):
        case = self.case_to_work()
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data["reason"]
        if not reason.strip():
            raise CaseActionError({"reason": ["Say why nothing will be done."]}, "reason_required")
        case = self.act(lambda: services.case_close_wont_fix(tenant=request.tenant, acting_member=self.acting_member, case=case,
                                                             reason=reason))
        return self.detail_response(case)


class CaseReopenApi(CaseApiBase):
    serializer_class = CaseDetailOutput

    @extend_schema(summary="Reopen a case", description="A resolved or won't-fix case opens again with a fresh SLA.",
                   request=None, responses={200: CaseDetailOutput, 400: ERRORS_400})
    def post(self, request, *args, **kwargs):
        case = self.case_to_work()
        case = self.act(lambda: services.case_reopen(tenant=request.tenant, acting_member=self.acting_member, case=case))
        return self.detail_response(case)
