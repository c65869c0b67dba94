from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver


@receiver(user_locked_out, dispatch_uid="accounts.audit_lockout")
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    from apps.accounts.services import lockout_record

    lockout_record(email=username or "", ip_address=ip_address)


@receiver(user_login_failed, dispatch_uid="accounts.count_failures_per_address")
def _count_failure_per_address(sender, credentials, request=None, **kwargs):
    """Every wrong password counts against the address, whichever account it was for (apps/accounts/limits.py)."""
    if request is None:
        return
    from apps.accounts.limits import sign_in_failure_count
    from apps.core.ratelimit import client_ip

    sign_in_failure_count(ip=client_ip(request))
