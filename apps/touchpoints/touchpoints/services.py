"""Writes for touchpoints (the admin part): create, update, archive, restore, delete."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from apps.core.events import touchpoint_deleting
from apps.tenancy.models import Team, Tenant
from apps.tenancy.services import audit_event_record
from apps.touchpoints.models import Interaction, Touchpoint

TOUCHPOINT_FIELDS = ("name", "channel", "team", "description", "is_key", "is_active")


class TouchpointInUse(ValidationError):
    """Interactions were logged at this touchpoint: it can be archived, never deleted."""


def _check_touchpoint_name(name: str, exclude_pk=None) -> None:
    # Case-insensitive, so “Phone support” and “phone support” are not two touchpoints.
    clash = Touchpoint.objects.filter(name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": "A touchpoint with this name already exists."})


@transaction.atomic
def touchpoint_create(*, tenant: Tenant, acting_user, name: str, channel: str, team: Team | None = None,
                      description: str = "", is_key: bool = False, is_active: bool = True) -> Touchpoint:
    touchpoint = Touchpoint(tenant=tenant, name=name.strip(), channel=channel, team=team,
                            description=description.strip(), is_key=is_key, is_active=is_active)
    _check_touchpoint_name(touchpoint.name)
    touchpoint.full_clean()
    touchpoint.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="touchpoint.created", target=touchpoint)
    return touchpoint


@transaction.atomic
def touchpoint_update(*, tenant: Tenant, acting_user, touchpoint: Touchpoint, **fields) -> Touchpoint:
    """Change any of name, channel, team, description, is_key, is_active (only the keys given)."""
    unknown = set(fields) - set(TOUCHPOINT_FIELDS)
    if unknown:
        raise ValidationError({k: "This field cannot be changed." for k in unknown})
    touchpoint = Touchpoint.objects.select_for_update().get(pk=touchpoint.pk)
    before = {k: str(getattr(touchpoint, k) if getattr(touchpoint, k) is not None else "") for k in fields}
    for key, value in fields.items():
        setattr(touchpoint, key, value.strip() if isinstance(value, str) else value)
    if "name" in fields:
        _check_touchpoint_name(touchpoint.name, exclude_pk=touchpoint.pk)
    touchpoint.full_clean()
    after = {k: str(getattr(touchpoint, k) if getattr(touchpoint, k) is not None else "") for k in fields}
    changes = {k: [before[k], after[k]] for k in fields if before[k] != after[k]}
    if changes:
        touchpoint.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="touchpoint.updated", target=touchpoint, changes=changes)
    return touchpoint


def touchpoint_archive(*, tenant: Tenant, acting_user, touchpoint: Touchpoint) -> Touchpoint:
    """Archive: staff no longer pick it when logging; its history and journey places stay."""
    return touchpoint_update(tenant=tenant, acting_user=acting_user, touchpoint=touchpoint, is_active=False)


def touchpoint_restore(*, tenant: Tenant, acting_user, touchpoint: Touchpoint) -> Touchpoint:
    return touchpoint_update(tenant=tenant, acting_user=acting_user, touchpoint=touchpoint, is_active=True)


@transaction.atomic
def touchpoint_delete(*, tenant: Tenant, acting_user, touchpoint: Touchpoint) -> None:
    """Delete a touchpoint nobody has logged an interaction at (history is never erased: one with
    interactions raises TouchpointInUse; archive it instead). Its journey placements go with it and
    the stages it stood on close the gap."""
    if Interaction.objects.filter(touchpoint=touchpoint).exists():
        raise TouchpointInUse("Interactions were logged at this touchpoint, so it cannot be deleted. Archive it instead.",
                              code="touchpoint_in_use")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="touchpoint.deleted", target=touchpoint)
    touchpoint_deleting.send(sender=Touchpoint, tenant=tenant, touchpoint=touchpoint)  # journeys: its placements
    try:
        with transaction.atomic():
            touchpoint.delete()
    except ProtectedError:  # an interaction logged since the check above
        raise TouchpointInUse("Interactions were logged at this touchpoint, so it cannot be deleted. Archive it instead.",
                              code="touchpoint_in_use") from None
