"""Writes on responses: tagging. Tag names are made on the fly and are one tag in any case ("VIP" and
"vip"): the database enforces it (a unique index on lower(name) per tenant); a concurrent creation
of the same name is caught and the existing tag is used."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.surveys.models import Response, ResponseTag, Tag
from apps.tenancy.models import Membership, Tenant

TAG_NAME_MAX = Tag._meta.get_field("name").max_length


def tag_name_clean(name: str) -> str:
    """Trim and collapse inner whitespace; refuse empty or over-long names."""
    cleaned = re.sub(r"\s+", " ", name or "").strip()
    if not cleaned:
        raise ValidationError({"name": "Give the tag a name."})
    if len(cleaned) > TAG_NAME_MAX:
        raise ValidationError({"name": f"A tag name has at most {TAG_NAME_MAX} characters."})
    return cleaned


def tag_get_or_create(*, tenant: Tenant, name: str) -> tuple[Tag, bool]:
    """The tenant's tag of that name in any case, created if there is none (created?)."""
    name = tag_name_clean(name)
    existing = Tag.objects.filter(name__iexact=name).first()
    if existing is not None:
        return existing, False
    tag = Tag(tenant=tenant, name=name)
    tag.full_clean()
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:
        # Someone created it (in some case) between the lookup and the insert.
        return Tag.objects.get(name__iexact=name), False
    return tag, True


@transaction.atomic
def response_tag_add(*, tenant: Tenant, acting_member: Membership | None, response: Response, name: str) -> tuple[Tag, bool]:
    """Tag a response (the tag is created if the name is new). Tagging twice changes nothing.
    Returns (tag, added?)."""
    tag, _ = tag_get_or_create(tenant=tenant, name=name)
    link = ResponseTag(tenant=tenant, response=response, tag=tag, added_by=acting_member)
    try:
        with transaction.atomic():
            link.save()
    except IntegrityError:
        return tag, False  # already tagged
    return tag, True


@transaction.atomic
def response_tag_remove(*, tenant: Tenant, acting_member: Membership | None, response: Response, tag: Tag) -> bool:
    """Remove a tag from a response (removed?). The tag itself stays for other responses."""
    deleted, _ = ResponseTag.objects.filter(response=response, tag=tag).delete()
    return deleted > 0
