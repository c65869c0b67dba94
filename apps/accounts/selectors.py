from django.db.models import QuerySet

from apps.accounts.models import MembershipInvitation


def invitation_list_pending() -> QuerySet[MembershipInvitation]:
    return MembershipInvitation.objects.filter(status=MembershipInvitation.Status.PENDING).select_related("team", "invited_by")


def invitation_list() -> QuerySet[MembershipInvitation]:
    return MembershipInvitation.objects.select_related("team", "invited_by").order_by("-created_at")
