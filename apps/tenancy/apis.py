"""REST API for the tenant's members, invitations, teams, API keys and audit log.

Every view subclasses TenantGenericApi: the tenant comes from the URL and is activated after
authentication; objects are looked up by UUID through the tenant-scoped default manager.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from apps.tenancy import selectors, services
from apps.tenancy.api import TenantApi, TenantGenericApi
from apps.tenancy.models import ADMINS, EVERYONE, LEADS, ApiKey, AuditEvent, Membership, Role, Team, Tenant

TEAM_FIELD = dict(slug_field="uuid", queryset=Team.objects, allow_null=True, required=False)


class TeamOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "description", "created_at"]


class MemberOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    team = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "team", "is_active", "created_at", "deactivated_at"]


class ApiKeyOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at"]


class AuditEventOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "target_type", "target_id", "target_label", "changes", "ip_address"]


@extend_schema_view(get=extend_schema(summary="Who am I in this workspace"))
class MeApi(TenantApi):
    """The caller as this tenant sees it: tenant, role, and whether it is a person or an API key."""

    class Output(serializers.Serializer):
        tenant = serializers.CharField()
        tenant_name = serializers.CharField()
        time_zone = serializers.CharField()
        role = serializers.ChoiceField(choices=Role.choices)
        principal = serializers.CharField()

    @extend_schema(responses=Output)
    def get(self, request, tenant_slug):
        access = request.tenant_access
        principal = f"api_key:{access.api_key.prefix}" if access.api_key else f"user:{request.user.email}"
        data = {"tenant": request.tenant.slug, "tenant_name": request.tenant.name, "time_zone": request.tenant.time_zone,
                "role": access.role, "principal": principal}
        return Response(self.Output(data).data)


class TenantSettingsOutput(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["slug", *services.TENANT_SETTINGS_FIELDS]
        read_only_fields = ["slug"]


@extend_schema_view(get=extend_schema(summary="Workspace settings"), patch=extend_schema(summary="Change workspace settings"))
class TenantSettingsApi(TenantApi):
    """The workspace's settings (admins): name, time zone, locale, industry, sender, the survey fatigue rule and the
    sample sizes below which numbers are flagged. A change is audited; a new time zone re-dates every response and
    rebuilds the rollups (queued). The same service as the settings page."""

    read_roles = ADMINS

    @extend_schema(responses=TenantSettingsOutput)
    def get(self, request, tenant_slug):
        return Response(TenantSettingsOutput(request.tenant).data)

    @extend_schema(request=TenantSettingsOutput, responses=TenantSettingsOutput,
                   examples=[OpenApiExample("Brussels, 10 days between surveys", request_only=True,
                                            value={"time_zone": "Europe/Brussels", "survey_fatigue_days": 10})])
    def patch(self, request, tenant_slug):
        data = TenantSettingsOutput(request.tenant, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        unknown = set(request.data) - set(services.TENANT_SETTINGS_FIELDS) if hasattr(request.data, "keys") else set()
        if unknown:
            raise ApiValidationError({key: ["Not a setting that can be changed."] for key in sorted(unknown)})
        tenant = services.tenant_update(tenant=request.tenant, acting_user=request.user, data=dict(data.validated_data))
        return Response(TenantSettingsOutput(tenant).data)


@extend_schema_view(get=extend_schema(summary="List members"))
class MemberListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = LEADS
    serializer_class = MemberOutput
    queryset_model = Membership
    filterset_fields = ["role", "is_active"]

    def get_tenant_queryset(self):
        return selectors.membership_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@extend_schema_view(get=extend_schema(summary="Read a member"), patch=extend_schema(summary="Change a member's role or team"))
class MemberDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    """Read a member; admins change role/team (PATCH)."""

    read_roles = LEADS
    write_roles = ADMINS
    serializer_class = MemberOutput
    queryset_model = Membership

    class Input(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        team = serializers.SlugRelatedField(**TEAM_FIELD)

    def get_tenant_queryset(self):
        return selectors.membership_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=MemberOutput,
                   examples=[OpenApiExample("Promote to CX lead", value={"role": "cx_lead"}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        membership = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        kwargs = {"role": data.validated_data.get("role")}
        if "team" in data.validated_data:
            kwargs["team"] = data.validated_data["team"]
        membership = services.membership_update(tenant=request.tenant, acting_user=request.user,
                                   membership=membership, **kwargs)
        return Response(MemberOutput(membership).data)


@extend_schema_view(post=extend_schema(summary="Deactivate a member"))
class MemberDeactivateApi(TenantGenericApi):
    """Deactivate a member; all of that user's sessions end."""

    read_roles = ADMINS
    serializer_class = MemberOutput
    queryset_model = Membership

    def get_tenant_queryset(self):
        return selectors.membership_list()

    @extend_schema(request=None, responses=MemberOutput)
    def post(self, request, *args, **kwargs):
        membership = self.get_object()
        if request.tenant_access.membership and membership.pk == request.tenant_access.membership.pk:
            raise ApiValidationError({"non_field_errors": ["You cannot deactivate yourself."]})
        membership = services.membership_deactivate(tenant=request.tenant,
                                   acting_user=request.user, membership=membership)
        return Response(MemberOutput(membership).data)


@extend_schema_view(post=extend_schema(summary="Reactivate a member"))
class MemberReactivateApi(MemberDeactivateApi):
    @extend_schema(request=None, responses=MemberOutput)
    def post(self, request, *args, **kwargs):
        membership = services.membership_reactivate(tenant=request.tenant,
                                   acting_user=request.user, membership=self.get_object())
        return Response(MemberOutput(membership).data)


@extend_schema_view(get=extend_schema(summary="List teams"), post=extend_schema(summary="Create a team"))
class TeamListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = ADMINS
    serializer_class = TeamOutput
    queryset_model = Team

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        description = serializers.CharField(max_length=240, required=False, allow_blank=True)

    def get_tenant_queryset(self):
        return selectors.team_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: TeamOutput},
                   examples=[OpenApiExample("Support team", value={"name": "Support", "description": "Phone and chat"}, request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(tenant=request.tenant, acting_user=request.user, **data.validated_data)
        return Response(TeamOutput(team).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read a team"), patch=extend_schema(summary="Rename or describe a team"),
                    delete=extend_schema(summary="Delete a team"))
class TeamDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = EVERYONE
    write_roles = ADMINS
    serializer_class = TeamOutput
    queryset_model = Team

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=80, required=False)
        description = serializers.CharField(max_length=240, required=False, allow_blank=True)

    def get_tenant_queryset(self):
        return selectors.team_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=Input, responses=TeamOutput,
                   examples=[OpenApiExample("Rename", value={"name": "Customer care"}, request_only=True)])
    def patch(self, request, *args, **kwargs):
        team = self.get_object()
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        team = services.team_update(tenant=request.tenant, acting_user=request.user, team=team, **data.validated_data)
        return Response(TeamOutput(team).data)

    @extend_schema(responses={204: None})
    def delete(self, request, *args, **kwargs):
        services.team_delete(tenant=request.tenant, acting_user=request.user, team=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(summary="List API keys"), post=extend_schema(summary="Create an API key"))
class ApiKeyListApi(mixins.ListModelMixin, TenantGenericApi):
    """List keys; create one (admins). The secret is in the creation response only."""

    read_roles = ADMINS
    serializer_class = ApiKeyOutput
    queryset_model = ApiKey

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        role = serializers.ChoiceField(choices=Role.choices)

    class CreatedOutput(ApiKeyOutput):
        key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

        class Meta(ApiKeyOutput.Meta):
            fields = [*ApiKeyOutput.Meta.fields, "key"]

    def get_tenant_queryset(self):
        return selectors.api_key_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: CreatedOutput},
                   examples=[OpenApiExample("Read-only key for BI", value={"name": "BI export", "role": "viewer"}, request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_create(tenant=request.tenant, acting_user=request.user, **data.validated_data)
        body = self.CreatedOutput(api_key).data
        body["key"] = raw_key
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(get=extend_schema(summary="Read an API key"))
class ApiKeyDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = ADMINS
    serializer_class = ApiKeyOutput
    queryset_model = ApiKey

    def get_tenant_queryset(self):
        return selectors.api_key_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(responses={204: None}, summary="Revoke an API key")
    def delete(self, request, *args, **kwargs):
        services.api_key_revoke(tenant=request.tenant, acting_user=request.user, api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(summary="List audit events"))
class AuditEventListApi(mixins.ListModelMixin, TenantGenericApi):
    read_roles = ADMINS
    serializer_class = AuditEventOutput
    queryset_model = AuditEvent
    filterset_fields = ["action", "target_type"]

    def get_tenant_queryset(self):
        return selectors.audit_event_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
