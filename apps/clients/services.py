"""Writes for clients, contacts and segments. Each change is recorded in the tenant's audit log.

Convention (STYLE.md): keyword-only, atomic, full_clean(), audit event. `acting_user` is a User,
an API-key principal or None (system).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.clients.models import AttributeDefinition, Client, Contact, Segment
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.services import audit_changes, audit_event_record

CLIENT_FIELDS = ("name", "segment", "industry", "tier", "owner", "annual_value", "active_from", "churned_on", "status", "attributes")
CONTACT_FIELDS = ("name", "email", "phone", "locale", "role", "opted_out", "attributes")
ATTRIBUTE_KEY_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ATTRIBUTE_VALUE_MAX = 200
SEGMENT_FIELDS = ("name", "description")

CLIENT_HAS_INTERACTIONS = "client_has_interactions"


def _text(value) -> str:
    """An audit-log rendering of a field value (JSON-safe, readable)."""
    if value is None:
        return ""
    if isinstance(value, Membership):
        return value.user.email
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _snapshot(obj, fields) -> dict:
    return {name: _text(getattr(obj, name)) for name in fields}


def _unknown_fields(data: dict, allowed) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})


def _strip(data: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def _clean_attributes(data: dict, applies_to: str) -> dict:
    """`data` with its custom attributes checked: {key: text} for keys the workspace defines for clients (or
    contacts), at most ATTRIBUTE_VALUE_MAX characters; empty values are left out."""
    if "attributes" not in data:
        return data
    raw = data["attributes"] or {}
    if not isinstance(raw, dict):
        raise ValidationError({"attributes": "Give the attributes as {key: text}."})
    defined = set(AttributeDefinition.objects.filter(applies_to=applies_to).values_list("key", flat=True))
    unknown = sorted(set(raw) - defined)
    if unknown:
        raise ValidationError({"attributes": f"Not an attribute of {applies_to}s here: {', '.join(map(str, unknown))} "
                                             f"(defined: {', '.join(sorted(defined)) or 'none yet'})."})
    cleaned = {}
    for key, value in raw.items():
        if value is None:
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValidationError({"attributes": f"{key}: give a text."})
        text = str(value).strip()
        if len(text) > ATTRIBUTE_VALUE_MAX:
            raise ValidationError({"attributes": f"{key}: at most {ATTRIBUTE_VALUE_MAX} characters."})
        if text:
            cleaned[key] = text
    return {**data, "attributes": cleaned}


# --- clients ------------------------------------------------------------------------------------

def _validate_owner(owner: Membership | None, *, previous_owner_id: int | None = None) -> None:
    # A client may keep an owner who has since left; a newly assigned owner must be an active member.
    if owner is not None and owner.pk != previous_owner_id and not owner.is_active:
        raise ValidationError({"owner": "Choose an active member of this workspace."})


@transaction.atomic
def client_create(*, tenant: Tenant, acting_user, data: dict) -> Client:
    """Create a client. Rules (Client.clean): churn date not before `active_from`; status Churned
    if and only if a churn date is given; annual value ≥ 0; segment and owner of this tenant, the
    owner an active member."""
    _unknown_fields(data, CLIENT_FIELDS)
    client = Client(tenant=tenant, **_clean_attributes(_strip(data), "client"))
    _validate_owner(client.owner)
    client.full_clean()
    client.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="client.created", target=client,
                       changes={k: [None, v] for k, v in _snapshot(client, CLIENT_FIELDS).items() if v})
    return client


@transaction.atomic
def client_update(*, tenant: Tenant, acting_user, client: Client, data: dict) -> Client:
    """Change some of a client's fields (same rules as client_create); audit the difference."""
    _unknown_fields(data, CLIENT_FIELDS)
    client = Client.objects.select_for_update(of=("self",)).select_related("segment", "owner__user").get(pk=client.pk)
    previous_owner_id = client.owner_id
    before = _snapshot(client, CLIENT_FIELDS)
    for name, value in _clean_attributes(_strip(data), "client").items():
        setattr(client, name, value)
    _validate_owner(client.owner, previous_owner_id=previous_owner_id)
    client.full_clean()
    changes = audit_changes(before, _snapshot(client, CLIENT_FIELDS))
    if changes:
        client.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="client.updated", target=client, changes=changes)
    return client


@transaction.atomic
def client_delete(*, tenant: Tenant, acting_user, client: Client) -> None:
    """Delete a client and its contacts. Refused (code `client_has_interactions`) while it has
    logged interactions: they are the history metrics are computed from — mark the client churned instead."""
    if client.interactions.exists():  # the reverse relation touchpoints declares (no import upward)
        raise ValidationError("This client has logged interactions, so it cannot be deleted; set its status to Churned instead.",
                              code=CLIENT_HAS_INTERACTIONS)
    contacts = Contact.objects.filter(client=client).count()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="client.deleted", target=client,
                       changes={"contacts": [contacts, 0]} if contacts else None)
    client.delete()


# --- contacts -----------------------------------------------------------------------------------

def _check_email_free(contact: Contact) -> None:
    """E-mail is unique per tenant, case-insensitively (imports match on it): say who has it."""
    if not contact.email:
        return
    other = (Contact.objects.filter(email__iexact=contact.email).exclude(pk=contact.pk)
             .select_related("client").first())
    if other is not None:
        raise ValidationError({"email": f"{other.name} at {other.client.name} already has this e-mail address."})


def _save_unique(obj, *, field: str, message: str) -> None:
    """Save; a concurrent write that took the unique value between our check and the insert
    becomes a field error, not a 500 (the savepoint keeps the outer transaction usable)."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({field: message}) from exc


def _save_contact(contact: Contact) -> None:
    contact.full_clean(validate_constraints=False)  # the e-mail rule is checked above, with a clearer message
    _save_unique(contact, field="email", message="Another contact already has this e-mail address.")


@transaction.atomic
def contact_create(*, tenant: Tenant, acting_user, client: Client, data: dict) -> Contact:
    """Add a contact to a client. The e-mail is stored lower-case and is unique in the tenant."""
    _unknown_fields(data, CONTACT_FIELDS)
    contact = Contact(tenant=tenant, client=client, **_clean_attributes(_strip(data), "contact"))
    contact.email = (contact.email or "").lower()
    _check_email_free(contact)
    _save_contact(contact)
    audit_event_record(tenant=tenant, acting_user=acting_user, action="contact.created", target=contact,
                       changes={"client": [None, client.name]})
    return contact


@transaction.atomic
def contact_update(*, tenant: Tenant, acting_user, contact: Contact, data: dict) -> Contact:
    _unknown_fields(data, CONTACT_FIELDS)
    contact = Contact.objects.select_for_update(of=("self",)).select_related("client").get(pk=contact.pk)
    before = _snapshot(contact, CONTACT_FIELDS)
    for name, value in _clean_attributes(_strip(data), "contact").items():
        setattr(contact, name, value)
    contact.email = (contact.email or "").lower()
    _check_email_free(contact)
    changes = audit_changes(before, _snapshot(contact, CONTACT_FIELDS))
    if changes:
        _save_contact(contact)
        audit_event_record(tenant=tenant, acting_user=acting_user, action="contact.updated", target=contact, changes=changes)
    else:
        contact.full_clean(validate_constraints=False)
    return contact


@transaction.atomic
def contact_delete(*, tenant: Tenant, acting_user, contact: Contact) -> None:
    """Delete a contact. Interactions that named this contact keep their client (the link is cleared)."""
    audit_event_record(tenant=tenant, acting_user=acting_user, action="contact.deleted", target=contact)
    contact.delete()


# --- segments -----------------------------------------------------------------------------------

def _check_segment_name_free(segment: Segment) -> None:
    if Segment.objects.filter(name__iexact=segment.name).exclude(pk=segment.pk).exists():
        raise ValidationError({"name": f"There is already a segment called “{segment.name}”."})


@transaction.atomic
def segment_create(*, tenant: Tenant, acting_user, data: dict) -> Segment:
    """Create a segment; names are unique in the tenant, case-insensitively."""
    _unknown_fields(data, SEGMENT_FIELDS)
    segment = Segment(tenant=tenant, **_strip(data))
    segment.full_clean(validate_constraints=False)
    _check_segment_name_free(segment)
    _save_unique(segment, field="name", message="There is already a segment with this name.")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="segment.created", target=segment)
    return segment


@transaction.atomic
def segment_update(*, tenant: Tenant, acting_user, segment: Segment, data: dict) -> Segment:
    _unknown_fields(data, SEGMENT_FIELDS)
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    before = _snapshot(segment, SEGMENT_FIELDS)
    for name, value in _strip(data).items():
        setattr(segment, name, value)
    segment.full_clean(validate_constraints=False)
    _check_segment_name_free(segment)
    changes = audit_changes(before, _snapshot(segment, SEGMENT_FIELDS))
    if changes:
        _save_unique(segment, field="name", message="There is already a segment with this name.")
        audit_event_record(tenant=tenant, acting_user=acting_user, action="segment.updated", target=segment, changes=changes)
    return segment


@transaction.atomic
def segment_delete(*, tenant: Tenant, acting_user, segment: Segment) -> int:
    """Delete a segment. Its clients (and journeys) stay, with no segment. Returns how many clients it had."""
    clients = Client.objects.filter(segment=segment).count()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="segment.deleted", target=segment,
                       changes={"clients": [clients, 0]} if clients else None)
    segment.delete()
    return clients


# --- custom attributes ----------------------------------------------------------------------------

@transaction.atomic
def attribute_definition_create(*, tenant: Tenant, acting_user, data: dict) -> AttributeDefinition:
    """Define a custom attribute of clients or contacts: {applies_to, key, label}. The key (lowercase letters and
    digits, words joined by single _) names it in piping ({{client.<key>}}), hidden fields and filters."""
    _unknown_fields(data, ("applies_to", "key", "label"))
    definition = AttributeDefinition(tenant=tenant, **_strip(data))
    if not ATTRIBUTE_KEY_RE.match(definition.key or "") or len(definition.key) > 40:
        raise ValidationError({"key": "Lowercase letters and digits, words joined by single _ (e.g. “region”, “contract_type”)."})
    reserved = {"name", "first_name", "role", "segment", "tier", "industry", "owner"}
    if definition.key in reserved:
        raise ValidationError({"key": f"“{definition.key}” is a built-in field already: choose another key."})
    if AttributeDefinition.objects.filter(applies_to=definition.applies_to, key=definition.key).exists():
        raise ValidationError({"key": f"{definition.applies_to.capitalize()}s already have an attribute “{definition.key}”."})
    definition.full_clean(validate_constraints=False)
    _save_unique(definition, field="key", message="This attribute already exists.")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="attribute.created", target=definition,
                       changes={"key": [None, f"{definition.applies_to}.{definition.key}"], "label": [None, definition.label]})
    return definition


@transaction.atomic
def attribute_definition_delete(*, tenant: Tenant, acting_user, definition: AttributeDefinition) -> int:
    """Delete a custom attribute and its values on every client (or contact); returns how many rows held one.
    Invitations and responses keep the hidden fields they carried (history is not rewritten)."""
    model = Client if definition.applies_to == AttributeDefinition.AppliesTo.CLIENT else Contact
    rows = list(model.objects.select_for_update().filter(attributes__has_key=definition.key))
    for row in rows:
        row.attributes = {k: v for k, v in row.attributes.items() if k != definition.key}
    model.objects.bulk_update(rows, ["attributes"])
    audit_event_record(tenant=tenant, acting_user=acting_user, action="attribute.deleted", target=definition,
                       changes={"rows": [len(rows), 0]} if rows else None)
    definition.delete()
    return len(rows)
