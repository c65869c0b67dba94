from celery import shared_task

from apps.accounts import services
from apps.tenancy.tasks import fan_out_due, tenant_task


@tenant_task()
def expire_member_invitations(tenant) -> int:
    return services.invitations_expire(tenant=tenant)


@shared_task
def fan_out_expire_member_invitations() -> int:
    """Hourly: the tenants with a pending member invitation run out (none when all is quiet) expire it."""
    return fan_out_due(services.INVITATIONS_EXPIRY_DUE, expire_member_invitations)


@shared_task
def password_reset_send(email: str, request_id: str) -> int:
    """Not a tenant task: the address's account decides the workspace (services.password_reset_send)."""
    return services.password_reset_send(email=email, request_id=request_id)
