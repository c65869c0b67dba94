from celery import shared_task

from apps.accounts.services import invitations_expire
from apps.tenancy.tasks import fan_out, tenant_task


@tenant_task()
def expire_member_invitations(tenant) -> int:
    return invitations_expire(tenant=tenant)


@shared_task
def fan_out_expire_member_invitations() -> int:
    return fan_out(expire_member_invitations)
