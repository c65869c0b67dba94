"""Hidden fields and piping (issue 20 item 2).

**Hidden fields.** An invitation carries the attributes of its client and contact as they are when it is made
(`invitation_attributes`): the client's segment, tier, industry and owner, the contact's role, and every custom
attribute the workspace defines (apps.clients.models.AttributeDefinition) as `client.<key>` / `contact.<key>`. The
response stores the invitation's (a later change to the client does not rewrite history, like its segment
attribution) and the responses list and API filter on them (`attribute=<key>:<value>`). Answers without an
invitation (web link, kiosk) carry none.

**Piping.** Survey texts (title, introduction, questions, choices, endings, the invitation e-mail) may name
`{{contact.first_name}}`, `{{contact.name}}`, `{{contact.role}}`, `{{client.name}}`, `{{client.segment}}`,
`{{client.tier}}`, `{{client.industry}}`, `{{touchpoint.name}}`, `{{org.name}}` and the custom attributes
`{{client.<key>}}` / `{{contact.<key>}}`, each with an optional fallback word for when the value is empty or
unknown (an anonymous web link): `{{contact.first_name|there}}`. Values are put into the text as plain text: the
templates escape them like any text (a client called `<script>` shows as written). A token that names nothing
stops the publish with its name (`unknown_tokens`).
"""

from __future__ import annotations

import re

from apps.clients.models import AttributeDefinition, Client, Contact

TOKEN_RE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z0-9_-]+)\s*(?:\|([^{}]*))?\}\}")
OPEN_RE = re.compile(r"\{\{")
STANDARD_TOKENS = ("contact.first_name", "contact.name", "contact.role", "client.name", "client.segment", "client.tier",
                   "client.industry", "touchpoint.name", "org.name")
STANDARD_ATTRIBUTES = {"segment": "Segment", "tier": "Tier", "industry": "Industry", "owner": "Client owner", "role": "Contact's role"}


# --- hidden fields --------------------------------------------------------------------------------

def _owner_name(client: Client) -> str:
    owner = client.owner
    if owner is None:
        return ""
    user = owner.user
    return user.get_full_name() or user.email


def _client_fields(client: Client) -> dict[str, str]:
    """The client's built-in fields that hidden fields and piping both carry."""
    return {"segment": client.segment.name if client.segment_id else "", "tier": client.get_tier_display(), "industry": client.industry}


def _custom(prefix: str, row) -> dict[str, str]:
    """A client's or contact's custom attributes under `<prefix>.<key>`."""
    return {f"{prefix}.{key}": str(value) for key, value in (row.attributes or {}).items() if value is not None}


def _filled(values: dict) -> dict[str, str]:
    return {key: str(value).strip() for key, value in values.items() if value is not None and str(value).strip()}


def invitation_attributes(*, client: Client | None, contact: Contact | None) -> dict[str, str]:
    """The hidden fields an invitation carries: {key: text}, empty values left out."""
    values: dict[str, str] = {}
    if client is not None:
        values |= _client_fields(client) | {"owner": _owner_name(client)} | _custom("client", client)
    if contact is not None:
        values |= {"role": contact.role} | _custom("contact", contact)
    return _filled(values)


def attribute_keys() -> list[tuple[str, str]]:
    """(key, label) of every hidden field the active workspace's responses may carry, for filters."""
    keys = list(STANDARD_ATTRIBUTES.items())
    for definition in AttributeDefinition.objects.order_by("applies_to", "label"):
        keys.append((f"{definition.applies_to}.{definition.key}", f"{definition.get_applies_to_display()[:-1]}: {definition.label}"))
    return keys


def parse_attribute_filter(value: str) -> tuple[str, str] | None:
    """"tier:Gold" → ("tier", "Gold"); None when it is not key:value."""
    key, sep, wanted = (value or "").partition(":")
    key, wanted = key.strip(), wanted.strip()
    if not sep or not key or not wanted or len(key) > 60 or len(wanted) > 200:
        return None
    return key, wanted


# --- piping ---------------------------------------------------------------------------------------

def known_tokens() -> set[str]:
    """Every token the active workspace's texts may use."""
    custom = {f"{d.applies_to}.{d.key}" for d in AttributeDefinition.objects.only("applies_to", "key")}
    return set(STANDARD_TOKENS) | custom


def unknown_tokens(text: str, known: set[str]) -> list[str]:
    """The tokens of `text` that name nothing (and "{{" that opens no well-formed token), as written."""
    if not text or "{{" not in text:
        return []
    found = [f"{{{{{m.group(1)}.{m.group(2)}}}}}" for m in TOKEN_RE.finditer(text) if f"{m.group(1)}.{m.group(2)}" not in known]
    if len(OPEN_RE.findall(text)) > len(TOKEN_RE.findall(text)):
        found.append("{{…}} (not of the form {{client.name}} or {{client.name|fallback}})")
    return found


def pipe(text: str, values: dict[str, str] | None) -> str:
    """`text` with each token replaced by its value, else its fallback, else nothing. Plain text in, plain text out
    (the template escapes it)."""
    if not text or "{{" not in text:
        return text

    def one(match):
        value = (values or {}).get(f"{match.group(1)}.{match.group(2)}", "")
        return value if value else (match.group(3) or "").strip()

    return TOKEN_RE.sub(one, text)


def pipe_values(*, tenant, contact: Contact | None = None, client: Client | None = None, touchpoint=None) -> dict[str, str]:
    """The values the tokens take for one respondent (what is unknown is left out: the fallback applies)."""
    values = {"org.name": tenant.name}
    if touchpoint is not None:
        values["touchpoint.name"] = touchpoint.name
    client = client or (contact.client if contact is not None else None)
    if client is not None:
        values |= {"client.name": client.name} | {f"client.{key}": value for key, value in _client_fields(client).items()}
        values |= _custom("client", client)
    if contact is not None:
        name = (contact.name or "").strip()
        values |= {"contact.name": name, "contact.first_name": name.split()[0] if name else "", "contact.role": contact.role}
        values |= _custom("contact", contact)
    return _filled(values)
