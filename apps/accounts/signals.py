from axes.signals import user_locked_out
from django.dispatch import receiver


@receiver(user_locked_out, dispatch_uid="accounts.audit_lockout")
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    from apps.accounts.services import lockout_record

    lockout_record(email=username or "", ip_address=ip_address)
