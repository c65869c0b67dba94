"""The workspace's members page (members, pending invitations, the invite form) and revoking an
invitation: admin pages under /t/<slug>/settings/, named in the `tenancy:` namespace with the other
settings pages (cxm/urls.py mounts apps/accounts/workspace_urls.py there). Here, not in tenancy,
because invitations are accounts' and tenancy sits below accounts."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.forms import InviteForm
from apps.accounts.models import MembershipInvitation
from apps.accounts.selectors import invitation_list_pending
from apps.accounts.services import invitation_revoke, member_invite
from apps.core.forms import add_service_errors
from apps.tenancy import selectors
from apps.tenancy.forms import TeamForm
from apps.tenancy.models import ADMINS
from apps.tenancy.permissions import tenant_role_required


@tenant_role_required(ADMINS)
def member_list(request, tenant_slug):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _ = member_invite(tenant=request.tenant, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("tenancy:members", tenant_slug=tenant_slug)
    context = {
        "form": form,
        "members": selectors.membership_list(),
        "invitations": invitation_list_pending(),
        "teams": selectors.team_list(),
        "team_form": TeamForm(),
    }
    return render(request, "tenancy/members.html", context, status=400 if form.errors else 200)


@require_POST
@tenant_role_required(ADMINS)
def invitation_revoke_view(request, tenant_slug, uuid):
    invitation = get_object_or_404(MembershipInvitation, uuid=uuid)
    invitation_revoke(tenant=request.tenant, acting_user=request.user, invitation=invitation)
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("tenancy:members", tenant_slug=tenant_slug)
