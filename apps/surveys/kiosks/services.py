"""Kiosk devices (issue 5 item 13): a tablet showing one survey, authorised by its own key.

The key is `secrets.token_urlsafe(32)` (256 bits), shown once in the device's URL when the device is
created; only its SHA-256 is stored. Revoking is immediate: the next request with the key gets the
generic 404. `last_seen_at` tells admins which devices are still in use (written at most once a
minute, so a busy kiosk does not write on every tap).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.site import site_url
from apps.surveys.models import KioskDevice, Survey
from apps.surveys.respond.selectors import secret_hash
from apps.tenancy.models import Tenant
from apps.tenancy.services import audit_event_record
from apps.touchpoints.models import Touchpoint

SEEN_RESOLUTION = timedelta(minutes=1)


def kiosk_url(raw_key: str) -> str:
    return f"{site_url()}/k/{raw_key}/"


@transaction.atomic
def kiosk_create(*, tenant: Tenant, acting_user, acting_member=None, survey: Survey, name: str,
                 touchpoint: Touchpoint | None = None) -> tuple[KioskDevice, str]:
    """A new device for `survey`; returns it with its raw key (never retrievable again)."""
    raw_key = secrets.token_urlsafe(32)
    device = KioskDevice(tenant=tenant, survey=survey, name=(name or "").strip(), touchpoint=touchpoint,
                         key_hash=secret_hash(raw_key), created_by=acting_member)
    device.full_clean(exclude=["created_by"])
    device.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="kiosk.created", target=device,
                       changes={"survey": [None, survey.name], "touchpoint": [None, touchpoint.name if touchpoint else None]})
    return device, raw_key


@transaction.atomic
def kiosk_revoke(*, tenant: Tenant, acting_user, kiosk: KioskDevice) -> KioskDevice:
    kiosk = KioskDevice.objects.select_for_update().get(pk=kiosk.pk)
    if kiosk.revoked_at is not None:
        raise ValidationError("This device is already revoked.")
    kiosk.revoked_at = timezone.now()
    kiosk.save(update_fields=["revoked_at", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=acting_user, action="kiosk.revoked", target=kiosk)
    return kiosk


def kiosk_seen(*, kiosk: KioskDevice, now: datetime | None = None) -> None:
    """Record that the device is in use (at most one write a minute)."""
    now = now or timezone.now()
    KioskDevice.objects.filter(pk=kiosk.pk, revoked_at__isnull=True).exclude(last_seen_at__gt=now - SEEN_RESOLUTION).update(last_seen_at=now)
