"""Workspace invitations in the tenant API (admins): list, invite by e-mail, read, revoke. Mounted with
the other workspace routes at /api/v1/t/<tenant_slug>/ (apps/accounts/api_urls.py); here, not in
tenancy, because invitations are accounts' and tenancy sits below accounts."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.accounts.models import MembershipInvitation
from apps.accounts.selectors import invitation_list
from apps.accounts.services import invitation_revoke, member_invite
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import ADMINS, Role, Team

TEAM_FIELD = dict(slug_field="uuid", queryset=Team.objects, allow_null=True, required=False)


class InvitationOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    team = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)

    class Meta:
        model = MembershipInvitation
        fields = ["id", "email", "role", "team", "status", "created_at", "expires_at"]



@extend_schema_view(get=extend_schema(summary="List invitations"), post=extend_schema(summary="Invite someone"))
class InvitationListApi(mixins.ListModelMixin, TenantGenericApi):
    """List invitations; invite someone by e-mail with a role (admins). The link is e-mailed."""

    read_roles = ADMINS
    serializer_class = InvitationOutput
    queryset_model = MembershipInvitation
    filterset_fields = ["status"]

    class Input(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.choices)
        team = serializers.SlugRelatedField(**TEAM_FIELD)

    def get_tenant_queryset(self):
        return invitation_list()

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: InvitationOutput},
                   examples=[OpenApiExample("Invite a staff member", value={"email": "sam@example.com", "role": "staff"}, request_only=True)])
    def post(self, request, *args, **kwargs):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _ = member_invite(tenant=request.tenant, acting_user=request.user, **data.validated_data)
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="Read an invitation"))
class InvitationDetailApi(mixins.RetrieveModelMixin, TenantGenericApi):
    read_roles = ADMINS
    serializer_class = InvitationOutput
    queryset_model = MembershipInvitation

    def get_tenant_queryset(self):
        return invitation_list()

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(responses={204: None}, summary="Revoke an invitation")
    def delete(self, request, *args, **kwargs):
        invitation_revoke(tenant=request.tenant, acting_user=request.user, invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
